"""Which folder names may name a class.

A class name is shown in answers, drawn on plots and written into exported models; each must
read back as exactly the one name it is, wherever it goes. Letters of any script are welcome.
"""

MAX_CLASS_NAME_LENGTH = 100


def class_name_problem(name: str) -> str | None:
    """Why `name` cannot name a class, or None if it can."""
    if not name:
        return "empty"
    if len(name) > MAX_CLASS_NAME_LENGTH:
        return f"longer than {MAX_CLASS_NAME_LENGTH} characters"
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if not name.isprintable():
        # Newlines, tabs, other control and invisible format characters, and separators
        # other than the plain space.
        return "holds a control or other non-printable character"
    if name != name.strip():
        return "starts or ends with whitespace"
    return None


def class_name_problems(names: list[str]) -> list[str]:
    """One line per unusable name, saying why; names shown in quotes, escaped, cut short."""
    problems = []
    for name in names:
        problem = class_name_problem(name)
        if problem is not None:
            shown = repr(name[:MAX_CLASS_NAME_LENGTH])
            ellipsis = "…" if len(name) > MAX_CLASS_NAME_LENGTH else ""
            problems.append(f"class {shown}{ellipsis}: {problem}")
    return problems
