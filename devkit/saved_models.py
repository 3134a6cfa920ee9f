"""A model saved and recorded as the worker saves one, without training it."""


def save_untrained_model(
    settings, class_names: list[str], metrics=None, name=None, dataset_id: str = "sample"
):
    """An untrained seed_cnn saved and recorded exactly as the worker saves a trained one, as
    if trained on `dataset_id`, as the next version of `name` (default: its dataset's id), and
    made that name's production version if it has none; its metrics are made up (`metrics`
    adds to them)."""
    # Imported here: Keras loads only when a test or benchmark saves a model.
    from core.db import create_session_factory
    from core.model_names import PRODUCTION
    from core.model_registry import ModelRegistry
    from models import get_architecture
    from worker.saving import save_trained_model

    network = get_architecture("seed_cnn").build((32, 32, 3), len(class_names))
    record = save_trained_model(
        network,
        settings.models_dir,
        {
            "job_id": "job-for-test",
            "dataset_id": dataset_id,
            "architecture": "seed_cnn",
            "class_names": class_names,
            "input_shape": [32, 32, 3],
            "params": {"epochs": 1},
            "metrics": {"test_accuracy": 0.5, "test_loss": 1.0, **(metrics or {})},
        },
    )
    registry = ModelRegistry(create_session_factory(settings))
    model = registry.add_version(record, name or record.dataset_id)
    # Set by hand, not by the promotion rule: its made-up accuracy may be at chance, and the
    # tests and benchmarks that save it predict without naming a model.
    registry.set_alias(
        model.name, PRODUCTION, model.version, "first version", expected_version=None
    )
    return model
