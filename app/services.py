"""Everything a request may need, built once when the app starts."""

from dataclasses import dataclass

from app.predictor import Predictor
from app.supervisor import WorkerSupervisor
from core.dataset_store import DatasetStore
from core.db import SessionFactory, create_session_factory
from core.job_store import JobStore
from core.model_store import ModelStore
from core.settings import Settings


@dataclass
class Services:
    settings: Settings
    sessions: SessionFactory
    jobs: JobStore
    models: ModelStore
    datasets: DatasetStore
    predictor: Predictor
    supervisor: WorkerSupervisor | None

    @classmethod
    def create(cls, settings: Settings) -> "Services":
        sessions = create_session_factory(settings)
        models = ModelStore(sessions)
        datasets = DatasetStore(sessions)
        datasets.ensure_builtin_datasets()
        return cls(
            settings=settings,
            sessions=sessions,
            jobs=JobStore(sessions),
            models=models,
            datasets=datasets,
            predictor=Predictor(models, settings.model_cache_size, settings.max_image_pixels),
            supervisor=WorkerSupervisor(settings) if settings.start_worker else None,
        )
