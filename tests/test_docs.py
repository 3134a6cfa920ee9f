"""The README documents every setting a user sets, docs/performance.md every tuning setting, and
neither documents settings that do not exist."""

import re

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from core.settings import NESTED_DELIMITER, Settings
from tests.samples import REPO_ROOT


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
