"""Promoting a newly added version: the rule of core/promotion.py, applied to the registry.

The decision is taken against the version `production` points at when it is read, and the alias
moves only if it still points there (a compare-and-set). A job that loses that race to another
promotion decides again against the new incumbent, so two jobs finishing together leave
production on the better of them, whichever order their writes land in.
"""

from core.errors import ConflictError
from core.model_names import PRODUCTION
from core.model_registry import ModelRegistry
from core.promotion import PromotionDecision, PromotionPolicy, Standing, decide_promotion
from core.tables import TrainedModel

# Each lost race means production moved; this many in a row is not a race.
_ATTEMPTS = 20


def promote_new_version(
    registry: ModelRegistry,
    model: TrainedModel,
    policy: PromotionPolicy,
    margin: float = 0.0,
) -> PromotionDecision:
    """Decide whether `model`, a version already added to the registry, takes its name's
    `production` alias, and move the alias if so."""
    candidate = standing(model)
    for _ in range(_ATTEMPTS):
        incumbent = registry.get_alias(model.name, PRODUCTION)
        if incumbent is not None and incumbent.id == model.id:
            # Someone pointed production at it meanwhile: nothing is left to decide.
            return PromotionDecision(True, "Production already points at it.", candidate, None)
        decision = _decide(policy, candidate, incumbent, len(model.class_names), margin)
        if not decision.promoted:
            return decision
        moved = registry.set_alias(
            model.name,
            PRODUCTION,
            model.version,
            decision.reason,
            job_id=model.job_id,
            expected_version=incumbent.version if incumbent is not None else None,
        )
        if moved:
            return decision
    raise ConflictError(
        f"Production of {model.name!r} keeps moving; its promotion was not decided."
    )


def standing(model: TrainedModel) -> Standing:
    """A recorded version as the promotion rule sees it."""
    return Standing(
        model_id=model.id,
        version=model.version,
        test_accuracy=float(model.metrics["test_accuracy"]),
        dataset_id=model.dataset_id,
        class_names=tuple(model.class_names),
    )


def _decide(
    policy: PromotionPolicy,
    candidate: Standing,
    incumbent: TrainedModel | None,
    num_classes: int,
    margin: float,
) -> PromotionDecision:
    if incumbent is not None and "test_accuracy" not in incumbent.metrics:
        # Recorded without one (by hand, or by a test): there is nothing to compare with, though
        # the job's policy or a test accuracy at chance may have settled it already.
        unopposed = decide_promotion(policy, candidate, None, num_classes, margin)
        if not unopposed.promoted:
            return unopposed
        return PromotionDecision(
            False,
            f"Production (version {incumbent.version}) has no test accuracy recorded, so the "
            "two cannot be compared.",
            candidate,
            None,
        )
    rival = standing(incumbent) if incumbent is not None else None
    return decide_promotion(policy, candidate, rival, num_classes, margin)
