"""What `POST /train` accepts, and the parameters a job records."""

import dataclasses
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models import ARCHITECTURES, get_architecture
from models.recipe import JitCompile, MixedPrecision, OptimizerName, ScheduleName

DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["cifar10"])]


class TrainRequest(BaseModel):
    """What `POST /train` accepts. Unset recipe values come from the network's recipe."""

    # JSON bodies may hold NaN, Infinity or 1e400 (read as infinity): none is a usable value.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
    tta_shift: int | None = Field(
        None,
        ge=0,
        le=4,
        description="Also evaluate on each test image shifted this many pixels diagonally, "
        "each way (edges reflected; with their mirrors under `tta`), and average those "
        "predictions' mean in with equal weight (airbench94's TTA); 0: off.",
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
        if from_recipe["optimizer"] != "sgd" and self.bn_bias_lr_scale is None:
            from_recipe["bn_bias_lr_scale"] = 1.0  # the recipe's is for its SGD
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
    tta_shift: int = 0
    whiten_init: bool = False
    bn_bias_lr_scale: float = 1.0
    ema_momentum: float = 0.0
    mixed_precision: MixedPrecision
    jit_compile: JitCompile
    steps_per_execution: int
    validation_split: float
    shuffle: bool
    seed: int
