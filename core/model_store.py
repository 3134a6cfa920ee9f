"""Records of trained models; the files themselves live under DATA_DIR/models/<id>/."""

from sqlalchemy import delete, func, select

from core.db import SessionFactory
from core.errors import ConflictError, NotFoundError
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

    def delete_model(self, model_id: str) -> TrainedModel:
        """Remove a model's record and return it, so its files can be removed too."""
        model = self.get_model(model_id)
        with self._sessions.begin() as session:
            session.execute(delete(TrainedModel).where(TrainedModel.id == model_id))
        return model

    def newest_model(self) -> TrainedModel:
        model = self.find_newest_model()
        if model is None:
            raise ConflictError(
                "No trained model yet: start a job with POST /train and predict once it succeeds."
            )
        return model

    def find_newest_model(self) -> TrainedModel | None:
        with self._sessions() as session:
            return session.scalars(
                select(TrainedModel).order_by(TrainedModel.created_at.desc()).limit(1)
            ).first()

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
