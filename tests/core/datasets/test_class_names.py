import pytest

from core.datasets.class_names import class_name_problem, class_name_problems


@pytest.mark.parametrize("name", ["cat", "猫", "café", "sea lion", "x" * 100, "[1] 50% $x$"])
def test_names_in_any_script_are_accepted(name: str):
    assert class_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("two\nlines", "control"),
        ("tab\there", "control"),
        ("carriage\r", "control"),
        ("nul\x00", "control"),
        ("no\u00a0break", "non-printable"),  # looks like a space, is not one
        ("right\u202eto-left", "non-printable"),  # reorders the text around it
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        (" cat", "whitespace"),
        ("cat ", "whitespace"),
        ("x" * 101, "longer than 100 characters"),
        ("", "empty"),
    ],
)
def test_names_that_could_be_misread_are_refused(name: str, reason: str):
    problem = class_name_problem(name)

    assert problem is not None and reason in problem


def test_problems_show_each_name_escaped_and_cut_short():
    problems = class_name_problems(["ok", "two\nlines", "y" * 500])

    assert problems == [
        "class 'two\\nlines': holds a control or other non-printable character",
        f"class {'y' * 100!r}…: longer than 100 characters",
    ]
