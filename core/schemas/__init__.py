"""Request and response bodies, shared by the app (validation, OpenAPI) and the worker."""

from core.schemas.catalog import (
    ArchitecturePublic,
    ArchitecturesPublic,
    DatasetProgress,
    DatasetPublic,
    DatasetsPublic,
    ModelPublic,
    ModelsPublic,
)
from core.schemas.health import Health, Readiness
from core.schemas.jobs import (
    EpochMetrics,
    JobError,
    JobLogPublic,
    JobPublic,
    JobsPublic,
    Progress,
    Runtime,
)
from core.schemas.model_names import (
    AliasMovePublic,
    AliasMovesPublic,
    AliasUpdate,
    DefaultModelName,
    ModelNameDetail,
    ModelNamePublic,
    ModelNamesPublic,
    RollbackRequest,
)
from core.schemas.predictions import ImagePredictions, Prediction, PredictionPublic, TopK
from core.schemas.training import DatasetId, TrainParams, TrainRequest

__all__ = [
    "AliasMovePublic",
    "AliasMovesPublic",
    "AliasUpdate",
    "ArchitecturePublic",
    "ArchitecturesPublic",
    "DatasetId",
    "DatasetProgress",
    "DatasetPublic",
    "DatasetsPublic",
    "DefaultModelName",
    "EpochMetrics",
    "Health",
    "ImagePredictions",
    "JobError",
    "JobLogPublic",
    "JobPublic",
    "JobsPublic",
    "ModelNameDetail",
    "ModelNamePublic",
    "ModelNamesPublic",
    "ModelPublic",
    "ModelsPublic",
    "Prediction",
    "PredictionPublic",
    "Progress",
    "Readiness",
    "RollbackRequest",
    "Runtime",
    "TopK",
    "TrainParams",
    "TrainRequest",
]
