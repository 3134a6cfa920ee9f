"""The promotion rule: production moves only to a comparable version that beats it, and never
to one at chance."""

import pytest

from core.promotion import (
    PromotionPolicy,
    Standing,
    chance_warning,
    decide_promotion,
)

CLASSES = tuple(f"class{i}" for i in range(10))


def standing(accuracy: float, version: int = 2, dataset: str = "cifar10", classes=CLASSES):
    return Standing(f"model-{version}", version, accuracy, dataset, tuple(classes))


PRODUCTION = standing(0.648, version=1)


@pytest.mark.parametrize(
    ("accuracy", "warned"), [(0.1025, True), (0.119, True), (0.12, False), (0.648, False)]
)
def test_a_model_within_two_points_of_chance_is_warned_about(accuracy, warned):
    warning = chance_warning(accuracy, num_classes=10)

    assert (warning is not None) is warned
    if warning is not None:
        assert "chance" in warning and "10.0%" in warning


def test_a_worse_version_does_not_replace_production():
    decision = decide_promotion(PromotionPolicy.IF_BETTER, standing(0.60), PRODUCTION, 10)

    assert not decision.promoted
    assert "does not beat" in decision.reason


def test_a_better_version_replaces_production_and_both_figures_are_recorded():
    decision = decide_promotion(PromotionPolicy.IF_BETTER, standing(0.70), PRODUCTION, 10)

    assert decision.promoted
    record = decision.to_record()
    assert record["candidate"]["test_accuracy"] == 0.70
    assert record["incumbent"]["test_accuracy"] == 0.648
    assert record["incumbent"]["version"] == 1


def test_an_equal_version_does_not_move_production():
    assert not decide_promotion(PromotionPolicy.IF_BETTER, standing(0.648), PRODUCTION, 10).promoted


def test_the_margin_must_be_met():
    policy = PromotionPolicy.IF_BETTER

    assert not decide_promotion(policy, standing(0.66), PRODUCTION, 10, margin=0.02).promoted
    assert decide_promotion(policy, standing(0.67), PRODUCTION, 10, margin=0.02).promoted


@pytest.mark.parametrize("policy", list(PromotionPolicy))
def test_a_version_at_chance_is_never_promoted_whatever_the_policy(policy):
    for incumbent in (PRODUCTION, None):
        decision = decide_promotion(policy, standing(0.1025), incumbent, 10)

        assert not decision.promoted


def test_the_first_comparable_version_is_promoted_unless_the_policy_is_never():
    assert decide_promotion(PromotionPolicy.IF_BETTER, standing(0.5), None, 10).promoted
    assert decide_promotion(PromotionPolicy.ALWAYS, standing(0.5), None, 10).promoted
    assert not decide_promotion(PromotionPolicy.NEVER, standing(0.9), None, 10).promoted


def test_always_promotes_a_worse_comparable_version():
    assert decide_promotion(PromotionPolicy.ALWAYS, standing(0.3), PRODUCTION, 10).promoted


@pytest.mark.parametrize(
    "other", [standing(0.99, dataset="flowers"), standing(0.99, classes=CLASSES[::-1])]
)
@pytest.mark.parametrize("policy", [PromotionPolicy.IF_BETTER, PromotionPolicy.ALWAYS])
def test_a_version_tested_on_another_split_never_replaces_production(policy, other):
    decision = decide_promotion(policy, other, PRODUCTION, 10)

    assert not decision.promoted
    assert "cannot be compared" in decision.reason
