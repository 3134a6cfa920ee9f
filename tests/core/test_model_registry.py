import random
from collections.abc import Callable
from itertools import pairwise

import pytest

from core.errors import ConflictError, NotFoundError
from core.model_registry import ModelRegistry
from core.model_store import ModelStore
from core.tables import TrainedModel
from tests.core.registry_samples import make_trained_model
from tests.core.threads import in_threads


@pytest.fixture
def settings(settings_on_each_database):
    return settings_on_each_database


@pytest.fixture
def registry(sessions) -> ModelRegistry:
    return ModelRegistry(sessions)


@pytest.fixture
def add_versions(registry: ModelRegistry) -> Callable[..., list[TrainedModel]]:
    def add(name: str = "cifar10", count: int = 1) -> list[TrainedModel]:
        return [registry.add_version(make_trained_model(name), name) for _ in range(count)]

    return add


def test_versions_count_up_from_one_within_each_name(registry, add_versions):
    cifar = add_versions("cifar10", 3)
    flowers = add_versions("flowers", 1)

    assert [(m.name, m.version) for m in cifar] == [("cifar10", 1), ("cifar10", 2), ("cifar10", 3)]
    assert (flowers[0].name, flowers[0].version) == ("flowers", 1)
    assert registry.get_version("cifar10", 2).id == cifar[1].id
    with pytest.raises(NotFoundError, match="'cifar10' has no version 4"):
        registry.get_version("cifar10", 4)
    with pytest.raises(NotFoundError, match="No model name 'nope'"):
        registry.get_version("nope", 1)


def test_the_model_store_adds_a_model_as_a_version_of_its_datasets_name(sessions, registry):
    model = ModelStore(sessions).add_model(make_trained_model("flowers"))

    assert (model.name, model.version) == ("flowers", 1)
    assert registry.resolve("flowers@1").id == model.id


def test_a_deleted_versions_number_is_not_given_again(registry, add_versions):
    second = add_versions("cifar10", 2)[1]

    assert registry.delete_model(second.id).id == second.id
    third = add_versions("cifar10")[0]

    assert third.version == 3
    with pytest.raises(NotFoundError, match=second.id):
        registry.delete_model(second.id)


def test_a_name_must_be_able_to_stand_in_a_reference(registry):
    for name in ("", "a@b", "a/b", "x" * 65):
        with pytest.raises(ValueError, match="Invalid value for argument `name`"):
            registry.add_version(make_trained_model(), name)


def test_concurrent_additions_get_distinct_versions(registry):
    # The name does not exist yet: the threads also race to create it.
    results = in_threads(
        lambda _: [registry.add_version(make_trained_model(), "race").version for _ in range(3)],
        count=6,
    )

    assert sorted(v for versions in results for v in versions) == list(range(1, 19))
    assert registry.default_name() == "race"


def test_the_first_name_is_the_default_until_another_is_chosen(registry, add_versions):
    assert registry.default_name() is None and registry.default_model() is None
    cifar = add_versions("cifar10")[0]
    add_versions("flowers")

    assert registry.default_name() == "cifar10"
    assert registry.default_model() is None  # no production version yet
    registry.set_alias("cifar10", "production", 1, "by hand")
    assert registry.default_model().id == cifar.id

    registry.set_default_name("flowers")
    assert registry.default_name() == "flowers"
    assert registry.default_model() is None
    with pytest.raises(NotFoundError, match="'nope'"):
        registry.set_default_name("nope")
    assert registry.default_name() == "flowers"


def test_setting_an_alias_moves_it_and_records_the_move(registry, add_versions):
    first, second = add_versions("cifar10", 2)

    assert registry.set_alias("cifar10", "production", 1, "first model", job_id=first.job_id)
    assert registry.get_alias("cifar10", "production").id == first.id
    assert not registry.set_alias("cifar10", "production", 1, "again: nothing moves")
    assert registry.set_alias("cifar10", "production", 2, "by hand")
    assert registry.set_alias("cifar10", "staging", 1, "by hand")

    assert registry.aliases_of("cifar10") == {"production": 2, "staging": 1}
    assert registry.get_alias("cifar10", "production").id == second.id
    assert registry.get_alias("cifar10", "canary") is None
    moves, total = registry.alias_history("cifar10")
    assert total == 3
    assert [(m.alias, m.old_version, m.new_version, m.reason, m.job_id) for m in moves] == [
        ("staging", None, 1, "by hand", None),
        ("production", 1, 2, "by hand", None),
        ("production", None, 1, "first model", first.job_id),
    ]
    assert moves[0].moved_at >= moves[1].moved_at >= moves[2].moved_at


def test_a_move_decided_against_a_stale_version_does_not_happen(registry, add_versions):
    add_versions("cifar10", 3)

    assert registry.set_alias("cifar10", "production", 1, "first", expected_version=None)
    # A promotion that saw no production version, and one that saw version 2: both stale.
    assert not registry.set_alias("cifar10", "production", 3, "promoted", expected_version=None)
    assert not registry.set_alias("cifar10", "production", 3, "promoted", expected_version=2)
    assert registry.aliases_of("cifar10") == {"production": 1}
    assert registry.alias_history("cifar10")[1] == 1

    assert registry.set_alias("cifar10", "production", 3, "promoted", expected_version=1)
    assert registry.aliases_of("cifar10") == {"production": 3}
    assert registry.alias_history("cifar10")[1] == 2


def test_removing_an_alias_unsets_it_and_records_the_removal(registry, add_versions):
    add_versions("cifar10")
    registry.set_alias("cifar10", "staging", 1, "by hand")

    registry.remove_alias("cifar10", "staging", "not needed")

    assert registry.aliases_of("cifar10") == {}
    newest = registry.alias_history("cifar10")[0][0]
    assert (newest.old_version, newest.new_version, newest.reason) == (1, None, "not needed")
    with pytest.raises(NotFoundError, match="'cifar10' has no alias 'staging'"):
        registry.remove_alias("cifar10", "staging", "again")


def test_aliases_name_existing_versions_of_existing_names(registry, add_versions):
    add_versions("cifar10")

    with pytest.raises(NotFoundError, match="No model name 'nope'"):
        registry.set_alias("nope", "production", 1, "by hand")
    with pytest.raises(NotFoundError, match="'cifar10' has no version 2"):
        registry.set_alias("cifar10", "production", 2, "by hand")
    with pytest.raises(NotFoundError, match="No model name 'nope'"):
        registry.aliases_of("nope")
    with pytest.raises(NotFoundError, match="No model name 'nope'"):
        registry.remove_alias("nope", "production", "by hand")
    for alias in ("", "Production", "1", "2b", "latest", "a@b", "a" * 65):
        with pytest.raises(ValueError, match="Invalid value for argument `alias`"):
            registry.set_alias("cifar10", alias, 1, "by hand")
    assert registry.alias_history("cifar10")[1] == 0


def test_concurrent_moves_leave_an_alias_where_its_history_says(registry, add_versions):
    add_versions("cifar10", 5)
    registry.set_alias("cifar10", "production", 1, "first")

    def move_around(seed: int) -> int:
        rng, moved = random.Random(seed), 0
        for _ in range(8):
            moved += registry.set_alias("cifar10", "production", rng.randint(1, 5), f"w{seed}")
        return moved

    moved = sum(in_threads(move_around, count=6))

    moves, total = registry.alias_history("cifar10", limit=1000)
    assert total == moved + 1
    oldest_first = list(reversed(moves))
    for before, after in pairwise(oldest_first):
        assert after.old_version == before.new_version != after.new_version
    assert registry.aliases_of("cifar10") == {"production": moves[0].new_version}


def test_of_promotions_against_the_same_incumbent_one_wins(registry, add_versions):
    add_versions("cifar10", 7)
    registry.set_alias("cifar10", "production", 1, "first")

    won = in_threads(
        lambda i: registry.set_alias(
            "cifar10", "production", i + 2, "promoted", expected_version=1
        ),
        count=6,
    )

    assert won.count(True) == 1
    winner = won.index(True) + 2
    assert registry.aliases_of("cifar10") == {"production": winner}
    assert registry.alias_history("cifar10")[1] == 2


def test_concurrent_creations_of_an_alias_create_it_once(registry, add_versions):
    add_versions("cifar10", 6)

    won = in_threads(
        lambda i: registry.set_alias("cifar10", "staging", i + 1, "first", expected_version=None),
        count=6,
    )

    assert won.count(True) == 1
    assert registry.aliases_of("cifar10") == {"staging": won.index(True) + 1}


def test_a_reference_is_an_id_a_name_or_a_name_with_an_alias_or_version(registry, add_versions):
    first, second, third = add_versions("cifar10", 3)
    registry.set_alias("cifar10", "production", 2, "by hand")
    registry.set_alias("cifar10", "staging", 3, "by hand")

    assert registry.resolve(first.id).id == first.id
    assert registry.resolve("cifar10").id == second.id
    assert registry.resolve("cifar10@production").id == second.id
    assert registry.resolve("cifar10@staging").id == third.id
    assert registry.resolve("cifar10@1").id == first.id
    assert registry.resolve("cifar10@latest").id == third.id


def test_an_unknown_reference_says_what_was_not_found(registry, add_versions):
    add_versions("cifar10")
    add_versions("flowers")
    registry.set_alias("cifar10", "production", 1, "by hand")

    for reference, message in [
        ("nope", "No model with id or name 'nope'"),
        ("nope@production", "No model name 'nope'"),
        ("cifar10@canary", "'cifar10' has no alias 'canary'"),
        ("cifar10@7", "'cifar10' has no version 7"),
        ("cifar10@", "'cifar10' has no alias ''"),
    ]:
        with pytest.raises(NotFoundError, match=message):
            registry.resolve(reference)
    with pytest.raises(ConflictError, match="'flowers' has no production version"):
        registry.resolve("flowers")


def test_history_is_newest_first_and_paginated(registry, add_versions):
    add_versions("cifar10", 4)
    for version in (1, 2, 3, 4):
        registry.set_alias("cifar10", "production", version, f"to {version}")
    add_versions("flowers")
    registry.set_alias("flowers", "production", 1, "elsewhere")

    page, total = registry.alias_history("cifar10", limit=2, offset=1)

    assert total == 4
    assert [m.reason for m in page] == ["to 3", "to 2"]
    with pytest.raises(NotFoundError, match="'nope'"):
        registry.alias_history("nope")


def test_a_version_an_alias_points_at_cannot_be_deleted(sessions, registry, add_versions):
    first = add_versions("cifar10", 2)[0]
    registry.set_alias("cifar10", "production", 1, "by hand")
    registry.set_alias("cifar10", "staging", 1, "by hand")

    with pytest.raises(ConflictError, match="cifar10@production, cifar10@staging"):
        registry.delete_model(first.id)
    assert ModelStore(sessions).get_model(first.id).id == first.id

    registry.set_alias("cifar10", "production", 2, "by hand")
    registry.remove_alias("cifar10", "staging", "by hand")
    assert registry.delete_model(first.id).id == first.id
    with pytest.raises(NotFoundError):
        ModelStore(sessions).get_model(first.id)
    # The history outlives the version.
    assert registry.alias_history("cifar10")[1] == 4
