"""Whether a newly trained version takes its name's `production` alias: the rule, apart from
where versions and aliases are stored, so that it can be read and tested on its own.

Only versions measured on the same test split are compared (the same dataset and classes): a
figure on another split says nothing about which model answers better. A version that is not
clearly better than chance is never promoted by a job, whatever its policy asks.
"""

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

# Test accuracy within this much of chance (1 / classes) earns a model a warning.
CHANCE_MARGIN = 0.02


class PromotionPolicy(StrEnum):
    IF_BETTER = "if_better"  # production moves only to a version that beats it
    ALWAYS = "always"  # production moves to every comparable version that is not at chance
    NEVER = "never"  # production never moves by this job


@dataclass(frozen=True)
class Standing:
    """A version as the rule sees it: its accuracy and the split it was measured on."""

    model_id: str
    version: int
    test_accuracy: float
    dataset_id: str
    class_names: tuple[str, ...]

    def comparable_with(self, other: "Standing") -> bool:
        return self.dataset_id == other.dataset_id and self.class_names == other.class_names


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    reason: str
    candidate: Standing
    incumbent: Standing | None

    def to_record(self) -> dict[str, Any]:
        """As the job records it (JSON)."""
        return {
            "promoted": self.promoted,
            "reason": self.reason,
            "candidate": _standing_record(self.candidate),
            "incumbent": _standing_record(self.incumbent) if self.incumbent else None,
        }


def chance_warning(test_accuracy: float, num_classes: int) -> str | None:
    """A warning for a model that has learnt next to nothing; None for one that has."""
    chance = 1 / num_classes
    # Rounded: 0.12 is two points above a chance of 0.1, though not in binary floating point.
    if round(test_accuracy - chance, 9) >= CHANCE_MARGIN:
        return None
    return (
        f"Test accuracy {test_accuracy:.1%} is within {CHANCE_MARGIN:.0%} of chance "
        f"({chance:.1%} for {num_classes} classes): the model has learnt next to nothing, "
        "so it is never promoted automatically."
    )


def decide_promotion(
    policy: PromotionPolicy,
    candidate: Standing,
    incumbent: Standing | None,
    num_classes: int,
    margin: float = 0.0,
) -> PromotionDecision:
    """Whether `candidate` replaces `incumbent` (None: the name has no production version yet)
    as production. Under `if_better` it must beat the incumbent, by at least `margin`."""

    def decided(promoted: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(promoted, reason, candidate, incumbent)

    if policy is PromotionPolicy.NEVER:
        return decided(False, "The job's promotion policy is `never`.")
    if chance_warning(candidate.test_accuracy, num_classes):
        return decided(False, "Its test accuracy is at chance level.")
    if incumbent is None:
        return decided(True, "The first version of its name to be promoted.")
    if not incumbent.comparable_with(candidate):
        return decided(
            False,
            f"Production (version {incumbent.version}) was tested on another dataset or class "
            "set, so the two cannot be compared.",
        )
    if policy is PromotionPolicy.ALWAYS:
        return decided(True, "The job's promotion policy is `always`.")
    gain = candidate.test_accuracy - incumbent.test_accuracy
    if gain > 0 and gain >= margin:
        return decided(
            True,
            f"Test accuracy {candidate.test_accuracy:.2%} beats production's "
            f"{incumbent.test_accuracy:.2%} (version {incumbent.version}) by {gain:.2%}.",
        )
    return decided(
        False,
        f"Test accuracy {candidate.test_accuracy:.2%} does not beat production's "
        f"{incumbent.test_accuracy:.2%} (version {incumbent.version})"
        + (f" by the margin of {margin:.2%}." if margin else "."),
    )


def _standing_record(standing: Standing) -> dict[str, Any]:
    record = asdict(standing)
    record["class_names"] = list(standing.class_names)
    return record
