"""The lifeline: a pipe from the app to the worker it supervises, so that the worker stops once
the app is gone, however the app ended (`kill -9` included).

The app holds the write end for the worker's life and never writes to it; the worker blocks
reading its own end, and reads end-of-file once no process holds the write end any more: the
kernel closes it when the app's process ends. (PR_SET_PDEATHSIG would not do: it fires when the
*thread* that started the worker ends, and with API_PROCESSES > 1 that is a thread of its own.)
"""

# The environment variable that gives a supervised worker the number of its end of the pipe;
# a standalone worker (`python -m worker`) has none.
LIFELINE_FD = "WORKER_LIFELINE_FD"
