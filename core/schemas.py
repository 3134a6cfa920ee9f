"""Request and response bodies, shared by the app (validation, OpenAPI) and the worker."""

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.status import JobStatus
from models import ARCHITECTURES, get_architecture
from models.recipe import JitCompile, MixedPrecision, OptimizerName, ScheduleName

TopK = Annotated[int, Field(ge=1, le=1000, description="How many classes to return.")]
DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["cifar10"])]


class TrainRequest(BaseModel):
    """What `POST /train` accepts. Unset recipe values come from the network's recipe."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetId = Field("cifar10", description="Dataset id: `cifar10` or an uploaded one.")
    model: str = Field("seed_cnn", description="Network architecture to train.")
    epochs: int | None = Field(None, ge=1, le=1000, description="Passes over the training set.")
    batch_size: int | None = Field(
        None, ge=1, le=65536, description="Global batch, split across replicas."
    )
    learning_rate: float | None = Field(None, gt=0, le=100, description="Peak step size.")
    optimizer: OptimizerName | None = None
    momentum: float | None = Field(None, ge=0, lt=1, description="SGD's Nesterov momentum.")
    weight_decay: float | None = Field(
        None, ge=0, le=1, description="Decoupled: each step multiplies weights by 1 - lr*decay."
    )
    label_smoothing: float | None = Field(None, ge=0, le=0.5)
    lr_schedule: ScheduleName | None = Field(
        None, description="`warmup_linear_decay`: per batch, up to the peak, then down."
    )
    warmup_fraction: float | None = Field(
        None, ge=0, le=0.9, description="Share of the steps spent warming up."
    )
    flip: bool | None = Field(None, description="Random horizontal flips while training.")
    translate: int | None = Field(
        None, ge=0, le=16, description="Random shifts of up to this many pixels while training."
    )
    tta: bool | None = Field(
        None, description="Evaluate on each test image and its mirror image, averaged."
    )
    whiten_init: bool | None = Field(
        None,
        description="Initialise the network's `whiten` layer as a patch-whitening filter bank "
        "from the training images, and freeze it (networks with such a layer: airbench).",
    )
    bn_bias_lr_scale: float | None = Field(
        None, gt=0, le=1000, description="Learning-rate multiplier for batch-norm biases (SGD)."
    )
    ema_momentum: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Momentum of an average of the weights kept while "
        "training, which the model ends with; 0: off.",
    )
    mixed_precision: MixedPrecision | None = Field(
        None, description="`auto`: bfloat16 compute on GPUs, float32 elsewhere."
    )
    jit_compile: JitCompile | None = Field(None, description="XLA compilation of the step.")
    steps_per_execution: int | None = Field(
        None, ge=1, le=10000, description="Training steps run per call into the backend."
    )
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

    @model_validator(mode="after")
    def _options_fit_the_network(self) -> "TrainRequest":
        if self.whiten_init and not get_architecture(self.model).has_whitening_layer:
            with_layer = [a.name for a in ARCHITECTURES.values() if a.has_whitening_layer]
            raise ValueError(
                f"whiten_init needs a network with a `whiten` layer: {', '.join(with_layer)}."
            )
        optimizer = self.optimizer or get_architecture(self.model).recipe.optimizer
        if self.bn_bias_lr_scale not in (None, 1) and optimizer != "sgd":
            raise ValueError("bn_bias_lr_scale applies to the sgd optimizer only.")
        return self

    def resolve(self, seed: int) -> "TrainParams":
        """Every parameter: the request's where given, else the network's recipe."""
        recipe = get_architecture(self.model).recipe
        from_recipe = {
            field.name: getattr(self, field.name)
            if getattr(self, field.name) is not None
            else getattr(recipe, field.name)
            for field in dataclasses.fields(recipe)
        }
        return TrainParams(
            dataset=self.dataset,
            model=self.model,
            validation_split=self.validation_split,
            shuffle=self.shuffle,
            seed=self.seed if self.seed is not None else seed,
            **from_recipe,
        )


class TrainParams(BaseModel):
    """Every training parameter of a job, resolved; stored with the job and its model."""

    dataset: str
    model: str
    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: OptimizerName
    momentum: float
    weight_decay: float
    label_smoothing: float
    lr_schedule: ScheduleName
    warmup_fraction: float
    flip: bool
    translate: int
    tta: bool
    # Defaults: jobs stored before these options existed.
    whiten_init: bool = False
    bn_bias_lr_scale: float = 1.0
    ema_momentum: float = 0.0
    mixed_precision: MixedPrecision
    jit_compile: JitCompile
    steps_per_execution: int
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


class Runtime(BaseModel):
    backend: str = Field(description="Keras backend: `tensorflow` or `jax`.")
    dtype_policy: str = Field(description="`float32`, `mixed_bfloat16` or `mixed_float16`.")
    jit_compile: bool | str
    steps_per_execution: int
    batch_size: int | None = Field(
        None,
        description="Global batch trained: the one asked for, rounded up to divide over "
        "the replicas.",
    )
    compile_seconds: float = Field(description="Tracing and compiling the train and test steps.")
    training_seconds: float = Field(description="Training and validation, compiling excluded.")
    images_per_second: float | None = Field(
        description="Training images per second, compiling excluded (none if no epoch was left)."
    )
    resumed_from_epoch: int = Field(
        0, description="Epochs restored from a checkpoint when the job's last attempt began."
    )


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
    runtime: Runtime | None = Field(
        description="How the job ran: backend, precision, compilation, and its timings."
    )
    attempts: int = Field(
        description="Times a worker started the job; a worker that stops cleanly gives it back."
    )
    cancel_requested_at: datetime | None = Field(
        description="When a user asked to cancel it; it stops at the next batch boundary."
    )
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


class JobLogPublic(BaseModel):
    data: list[dict[str, Any]] = Field(
        description="Log records, oldest first: time, level, logger, message and details."
    )
    count: int = Field(description="Records in the job's log in all.")
    offset: int


class Prediction(BaseModel):
    label: str
    index: int
    probability: float


class ImagePredictions(BaseModel):
    filename: str | None = Field(description="The uploaded file's name, if it had one.")
    predictions: list[Prediction]


class PredictionPublic(BaseModel):
    model_id: str
    predictions: list[Prediction] = Field(description="The first (or only) image's classes.")
    results: list[ImagePredictions] = Field(description="Every image's classes, in upload order.")


class Readiness(BaseModel):
    ready: bool
    model_id: str | None = Field(description="The default (newest) model.")
    detail: str


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
    metrics: dict[str, Any] = Field(
        description="On the test split: `test_accuracy`, `test_loss`, `per_class_accuracy` "
        "(class name: accuracy) and `confusion_matrix` (rows: true class, columns: predicted "
        "class, both in `class_names` order; models saved before it lack the last two), "
        "then how training ran."
    )


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class ArchitecturePublic(BaseModel):
    name: str
    description: str
    epochs: int = Field(description="Epochs a job trains for when the request sets none.")
    batch_size: int = Field(description="Batch size a job uses when the request sets none.")


class ArchitecturesPublic(BaseModel):
    data: list[ArchitecturePublic]
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
