"""Records of datasets: the built-in ones and those users uploaded."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.datasets.builtin import BUILTIN_DATASETS
from core.db import SessionFactory
from core.errors import NotFoundError
from core.tables import Dataset


class DatasetStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def ensure_builtin_datasets(self) -> None:
        """Record each built-in dataset once, however many processes start at the same time."""
        for dataset in BUILTIN_DATASETS:
            try:
                with self._sessions.begin() as session:
                    if session.get(Dataset, dataset.id) is None:
                        session.add(dataset.to_record())
            except IntegrityError:
                pass  # another worker or app recorded it between our look and our insert

    def add_dataset(self, dataset: Dataset) -> Dataset:
        with self._sessions.begin() as session:
            session.add(dataset)
        return dataset

    def get_dataset(self, dataset_id: str) -> Dataset:
        with self._sessions() as session:
            dataset = session.get(Dataset, dataset_id)
            if dataset is None:
                raise NotFoundError(f"No dataset with id {dataset_id!r}.")
            return dataset

    def list_datasets(self, limit: int = 50, offset: int = 0) -> tuple[list[Dataset], int]:
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(Dataset)) or 0
            page = (
                select(Dataset)
                .order_by(Dataset.created_at.desc(), Dataset.id)
                .limit(limit)
                .offset(offset)
            )
            return list(session.scalars(page)), total
