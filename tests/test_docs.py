"""The README documents every setting a user sets, docs/performance.md every tuning setting, and
neither documents settings that do not exist."""

import re
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from core.settings import NESTED_DELIMITER, Settings
from devkit.samples import REPO_ROOT


def _groups() -> dict[str, type[BaseModel]]:
    """The nested groups of tuning settings, by field name."""
    return {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }


def _flat_settings() -> dict[str, FieldInfo]:
    groups = _groups()
    return {
        name.upper(): field for name, field in Settings.model_fields.items() if name not in groups
    }


def _tuning_settings() -> dict[str, FieldInfo]:
    return {
        f"{group}{NESTED_DELIMITER}{name}".upper(): field
        for group, model in _groups().items()
        for name, field in model.model_fields.items()
    }


def _documented(path: str, section_title: str) -> set[str]:
    text = (REPO_ROOT / path).read_text()
    section = text.split(f"\n## {section_title}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_readme_configuration_table_lists_every_setting_a_user_sets():
    assert _documented("README.md", "Configuration") == set(_flat_settings())


def test_performance_notes_list_every_tuning_setting():
    assert _documented("docs/performance.md", "Tuning settings") == set(_tuning_settings())


def test_the_settings_come_in_two_groups_of_tuning_settings():
    assert set(_groups()) == {"prediction", "intervals"}


def test_every_setting_has_a_description():
    for name, field in {**_flat_settings(), **_tuning_settings()}.items():
        assert field.description, name


DOCUMENTS = ["README.md", *(f"docs/{path.name}" for path in (REPO_ROOT / "docs").glob("*.md"))]
# A link or an image: [text](target) or ![alt](target), outside code.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", flags=re.DOTALL)


def test_relative_links_in_the_docs_resolve():
    broken = []
    for name in DOCUMENTS:
        document = REPO_ROOT / name
        for target in LINK.findall(CODE.sub("", document.read_text())):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
                continue
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.is_file():
                broken.append(f"{name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{name}: {target} (no such heading)")

    assert broken == []


def _anchors(document: Path) -> set[str]:
    """The ids GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces
    as hyphens, and -1, -2, … after repeats."""
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.DOTALL)
    anchors: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchor, repeat = slug, 0
        while anchor in anchors:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        anchors.add(anchor)
    return anchors
