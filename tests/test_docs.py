"""The README documents every setting, and only settings that exist."""

import re

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
