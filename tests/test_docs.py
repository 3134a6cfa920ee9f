"""The README documents every setting, and only settings that exist."""

import re
from pathlib import Path

from core.settings import Settings
from devkit.samples import REPO_ROOT


def test_readme_configuration_table_lists_every_setting():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE))

    assert documented == {name.upper() for name in Settings.model_fields}


def test_every_setting_has_a_description():
    for name, field in Settings.model_fields.items():
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
