"""Request and response bodies, shared by the app (validation, OpenAPI) and the worker."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.status import JobStatus
from models import ARCHITECTURES, get_architecture
from models.recipe import OptimizerName

DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["cifar10"])]


class TrainRequest(BaseModel):
    """What `POST /train` accepts. Unset recipe values come from the network's recipe."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetId = Field("cifar10", description="Dataset id: `cifar10` or an uploaded one.")
    model: str = Field("seed_cnn", description="Network architecture to train.")
    epochs: int | None = Field(
        None, ge=1, le=1000, description="Passes over the training set (recipe: 10)."
    )
    batch_size: int | None = Field(
        None, ge=1, le=65536, description="Global batch, split across replicas (recipe: 32)."
    )
    learning_rate: float | None = Field(
        None, gt=0, le=10, description="Optimizer step size (recipe: 0.001)."
    )
    optimizer: OptimizerName | None = Field(None, description="Optimizer (recipe: adam).")
    validation_split: float = Field(
        0.1,
        ge=0,
        le=0.5,
        description="Share of the training set held out for validation; "
        "0 validates on the test split, as the seed program does.",
    )
    shuffle: bool = Field(True, description="Shuffle the training set every epoch.")
    seed: int | None = Field(
        None, ge=0, le=2**31 - 1, description="Random seed; a random one is drawn and recorded."
    )
    name: str | None = Field(None, max_length=200, description="A label for the job.")

    @field_validator("model")
    @classmethod
    def _known_architecture(cls, name: str) -> str:
        if name not in ARCHITECTURES:
            raise ValueError(f"Unknown model. Expected one of: {', '.join(ARCHITECTURES)}")
        return name

    def resolve(self, seed: int) -> "TrainParams":
        recipe = get_architecture(self.model).recipe
        return TrainParams(
            dataset=self.dataset,
            model=self.model,
            epochs=self.epochs or recipe.epochs,
            batch_size=self.batch_size or recipe.batch_size,
            learning_rate=self.learning_rate or recipe.learning_rate,
            optimizer=self.optimizer or recipe.optimizer,
            validation_split=self.validation_split,
            shuffle=self.shuffle,
            seed=self.seed if self.seed is not None else seed,
        )


class TrainParams(BaseModel):
    """Every training parameter of a job, resolved; stored with the job and its model."""

    dataset: str
    model: str
    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: OptimizerName
    validation_split: float
    shuffle: bool
    seed: int


class Progress(BaseModel):
    epoch: int = Field(description="Epoch under way, from 1.")
    epochs: int
    step: int = Field(description="Batches done in this epoch.")
    steps: int | None = Field(description="Batches in one epoch.")
    fraction: float = Field(description="Share of the whole job done, 0 to 1.")
    images_per_second: float | None = None
    eta_seconds: float | None = Field(None, description="Estimated seconds until training ends.")


class EpochMetrics(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    epoch: int
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


class JobError(BaseModel):
    type: str
    message: str


class JobPublic(BaseModel):
    id: str
    name: str | None
    status: JobStatus
    url: str = Field(description="Where to follow the job.")
    dataset: str
    model: str = Field(description="Network architecture.")
    params: TrainParams
    progress: Progress | None
    history: list[EpochMetrics]
    devices: list[str] | None = Field(description="Devices MirroredStrategy trained on.")
    replicas: int | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    error: JobError | None
    model_id: str | None = Field(description="The trained model, once the job succeeded.")
    test_accuracy: float | None
    test_loss: float | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int = Field(description="Jobs matching the filter, over all pages.")
    limit: int
    offset: int


class Prediction(BaseModel):
    label: str
    index: int
    probability: float


class PredictionPublic(BaseModel):
    model_id: str
    predictions: list[Prediction]


class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    job_id: str
    dataset_id: str
    architecture: str
    created_at: datetime
    class_names: list[str]
    input_shape: list[int]
    preprocessing: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class DatasetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str = Field(description="`builtin` or `image_folder`.")
    created_at: datetime
    class_names: list[str]
    image_shape: list[int]
    train_count: int
    test_count: int
    class_counts: dict[str, Any] = Field(description="Images per class in each split.")
    test_split: str = Field(
        description="`archive`: from the archive's test/ folder; "
        "`held_out`: a fixed seeded share of train/; `builtin`."
    )


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    count: int


class Health(BaseModel):
    status: str
    database: str
    worker: str = Field(description="`running`, `restarting`, or `external` (not supervised).")
