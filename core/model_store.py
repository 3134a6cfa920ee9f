"""Records of trained models, read; the files themselves live under DATA_DIR/models/<id>/.
They are added and deleted through the registry (core/model_registry.py), which names and
numbers them and keeps aliased versions from being deleted."""

from sqlalchemy import func, select

from core.db import SessionFactory
from core.errors import NotFoundError
from core.model_registry import ModelRegistry
from core.tables import TrainedModel


class ModelStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def add_model(self, model: TrainedModel) -> TrainedModel:
        """Record a new model as the next version of the named model its dataset names."""
        return ModelRegistry(self._sessions).add_version(model, model.dataset_id)

    def get_model(self, model_id: str) -> TrainedModel:
        with self._sessions() as session:
            model = session.get(TrainedModel, model_id)
            if model is None:
                raise NotFoundError(f"No model with id {model_id!r}.")
            return model

    def list_models(self, limit: int = 50, offset: int = 0) -> tuple[list[TrainedModel], int]:
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(TrainedModel)) or 0
            page = (
                select(TrainedModel)
                .order_by(TrainedModel.created_at.desc(), TrainedModel.id)
                .limit(limit)
                .offset(offset)
            )
            return list(session.scalars(page)), total
