"""Promotion against a real registry: production moves only to a better comparable version, by
compare-and-set, so concurrent promotions end where the rule says."""

from collections.abc import Callable
from itertools import pairwise

import pytest

from core.model_names import PRODUCTION
from core.model_registry import ModelRegistry
from core.promotion import PromotionPolicy
from core.promotion_flow import promote_new_version
from core.tables import TrainedModel
from tests.core.registry_samples import make_trained_model
from tests.core.threads import in_threads

CLASSES = [f"class{i}" for i in range(10)]
IF_BETTER, ALWAYS, NEVER = PromotionPolicy.IF_BETTER, PromotionPolicy.ALWAYS, PromotionPolicy.NEVER


@pytest.fixture
def settings(settings_on_each_database):
    return settings_on_each_database


@pytest.fixture
def registry(sessions) -> ModelRegistry:
    return ModelRegistry(sessions)


@pytest.fixture
def add(registry: ModelRegistry) -> Callable[..., TrainedModel]:
    """A version of `name` with the given test accuracy, trained on `dataset`."""

    def add_version(accuracy: float, name: str = "cifar10", dataset: str = "cifar10"):
        model = make_trained_model(dataset)
        model.class_names = CLASSES
        model.metrics = {"test_accuracy": accuracy, "test_loss": 1.0}
        return registry.add_version(model, name)

    return add_version


def production(registry: ModelRegistry, name: str = "cifar10") -> int | None:
    return registry.aliases_of(name).get(PRODUCTION)


def test_the_first_version_is_promoted_and_the_move_recorded(registry, add):
    first = add(0.60)

    decision = promote_new_version(registry, first, IF_BETTER)

    assert decision.promoted and decision.incumbent is None
    assert production(registry) == 1
    moves, total = registry.alias_history("cifar10")
    assert total == 1
    assert (moves[0].old_version, moves[0].new_version) == (None, 1)
    assert moves[0].job_id == first.job_id and moves[0].reason == decision.reason


def test_a_worse_version_is_not_promoted_and_a_better_one_is(registry, add):
    promote_new_version(registry, add(0.60), IF_BETTER)

    worse = promote_new_version(registry, add(0.55), IF_BETTER)
    assert not worse.promoted and "does not beat" in worse.reason
    assert worse.incumbent is not None and worse.incumbent.version == 1
    assert production(registry) == 1

    better = promote_new_version(registry, add(0.65), IF_BETTER)
    assert better.promoted and production(registry) == 3
    assert better.to_record()["incumbent"]["version"] == 1


@pytest.mark.parametrize("policy", list(PromotionPolicy))
def test_a_version_at_chance_is_never_promoted_whatever_the_policy(registry, add, policy):
    at_chance = add(0.1025)

    decision = promote_new_version(registry, at_chance, policy)

    assert not decision.promoted
    assert production(registry) is None


def test_always_promotes_a_worse_version_and_never_promotes_none(registry, add):
    promote_new_version(registry, add(0.60), IF_BETTER)

    assert not promote_new_version(registry, add(0.90), NEVER).promoted
    assert production(registry) == 1
    assert promote_new_version(registry, add(0.50), ALWAYS).promoted
    assert production(registry) == 3


def test_a_better_version_must_beat_production_by_the_margin(registry, add):
    promote_new_version(registry, add(0.60), IF_BETTER)

    short = promote_new_version(registry, add(0.62), IF_BETTER, margin=0.05)
    assert not short.promoted and "margin" in short.reason
    assert production(registry) == 1
    assert promote_new_version(registry, add(0.66), IF_BETTER, margin=0.05).promoted
    assert production(registry) == 3


@pytest.mark.parametrize("policy", [IF_BETTER, ALWAYS])
def test_a_version_tested_on_another_dataset_never_replaces_production(registry, add, policy):
    promote_new_version(registry, add(0.60, dataset="cifar10"), IF_BETTER)

    decision = promote_new_version(registry, add(0.99, dataset="flowers"), policy)

    assert not decision.promoted and "another dataset" in decision.reason
    assert production(registry) == 1


def test_each_name_has_its_own_production(registry, add):
    promote_new_version(registry, add(0.90, name="cifar10"), IF_BETTER)

    assert promote_new_version(registry, add(0.50, name="small"), IF_BETTER).promoted
    assert registry.aliases_of("small") == {PRODUCTION: 1}
    assert production(registry) == 1


def test_a_production_without_test_accuracy_is_kept(registry, add):
    by_hand = make_trained_model("cifar10")  # recorded without metrics
    registry.add_version(by_hand, "cifar10")
    registry.set_alias("cifar10", PRODUCTION, 1, "by hand")

    decision = promote_new_version(registry, add(0.90), ALWAYS)

    assert not decision.promoted and "no test accuracy" in decision.reason
    assert production(registry) == 1


def test_concurrent_promotions_leave_production_on_the_best(registry, add):
    promote_new_version(registry, add(0.50), IF_BETTER)
    accuracies = [0.55, 0.70, 0.60, 0.65]
    candidates = [add(accuracy) for accuracy in accuracies]

    decisions = in_threads(
        lambda i: promote_new_version(registry, candidates[i], IF_BETTER), len(candidates)
    )

    best = candidates[accuracies.index(max(accuracies))]
    assert production(registry) == best.version
    assert decisions[accuracies.index(max(accuracies))].promoted
    # The history is a chain: each move starts where the one before it ended, and each
    # promotion was decided against the version it replaced.
    moves, _ = registry.alias_history("cifar10")
    moves.reverse()
    assert moves[0].old_version is None
    for before, after in pairwise(moves):
        assert after.old_version == before.new_version
    by_version = {c.version: a for c, a in zip(candidates, accuracies, strict=True)} | {1: 0.50}
    for move in moves[1:]:
        assert by_version[move.new_version] > by_version[move.old_version]
    for decision in decisions:
        if decision.promoted:
            assert decision.incumbent is not None
            assert decision.candidate.test_accuracy > decision.incumbent.test_accuracy


def test_two_first_versions_racing_leave_one_production(registry, add):
    first, second = add(0.60), add(0.70)

    decisions = in_threads(
        lambda i: promote_new_version(registry, (first, second)[i], IF_BETTER), 2
    )

    assert production(registry) == second.version
    assert decisions[1].promoted
