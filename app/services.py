"""Everything a request may need, built once when the app starts."""

from dataclasses import dataclass

from app.api_processes import worker_supervised_by_parent
from app.export import ModelExporter
from app.job_events import SharedJobReads
from app.metrics import Metrics
from app.serving.model_cache import ModelCache
from app.serving.predictor import Predictor
from app.stream_slots import StreamSlots
from app.supervisor import WorkerSupervisor
from core.datasets.store import DatasetStore
from core.db import SessionFactory, create_session_factory
from core.job_store import JobStore
from core.model_registry import ModelRegistry
from core.model_store import ModelStore
from core.registry_listing import RegistryListing
from core.settings import Settings
from core.worker_liveness import is_alive


@dataclass
class Services:
    settings: Settings
    sessions: SessionFactory
    jobs: JobStore
    models: ModelStore
    registry: ModelRegistry
    registry_listing: RegistryListing
    datasets: DatasetStore
    model_cache: ModelCache
    predictor: Predictor
    exporter: ModelExporter
    supervisor: WorkerSupervisor | None
    metrics: Metrics
    event_streams: StreamSlots
    job_reads: SharedJobReads

    @classmethod
    def create(cls, settings: Settings, metrics: Metrics) -> "Services":
        sessions = create_session_factory(settings)
        jobs = JobStore(sessions)
        metrics.watch_jobs(jobs)
        models = ModelStore(sessions)
        registry = ModelRegistry(sessions)
        datasets = DatasetStore(sessions)
        datasets.ensure_builtin_datasets()
        model_cache = ModelCache(
            registry,
            settings,
            on_load=metrics.model_load.observe,
            on_batch=metrics.batch_size.observe,
            on_switch=metrics.serve,
        )
        return cls(
            settings=settings,
            sessions=sessions,
            jobs=jobs,
            models=models,
            registry=registry,
            registry_listing=RegistryListing(sessions),
            datasets=datasets,
            model_cache=model_cache,
            predictor=Predictor(model_cache, settings),
            exporter=ModelExporter(settings),
            supervisor=(
                WorkerSupervisor(settings)
                if settings.start_worker and not worker_supervised_by_parent()
                else None
            ),
            metrics=metrics,
            event_streams=StreamSlots(
                settings.max_event_streams, settings.max_event_streams_per_client
            ),
            # Within half a poll, so that each stream still sees every progress write.
            job_reads=SharedJobReads(jobs, settings.intervals.events_poll_seconds / 2),
        )

    def worker_state(self) -> str:
        """`running` or `restarting` for a worker this service supervises, else `external`."""
        if self.supervisor is not None:
            return self.supervisor.state
        if worker_supervised_by_parent():
            # The parent of this serving process supervises it: its liveness file tells.
            return "running" if is_alive(self.settings) else "restarting"
        return "external"
