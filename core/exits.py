"""How a child process ended, in words for a job's or a dataset's error and logs."""

import signal


def describe_exit(code: int) -> str:
    """`code` as `subprocess` gives it: negative for the signal that killed the process."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"killed by signal {-code}"
    if -code == signal.SIGKILL:
        # What a user most needs to know: it is what the kernel does when memory runs out.
        return f"killed by {name}, as by the kernel when memory runs out"
    return f"killed by {name}"
