"""A network's default training recipe, kept beside the network it belongs to.

`Recipe` declares every training option once, with its type, bounds and description:
`POST /train`'s optional overrides and a job's resolved parameters derive from its fields
(core/schemas/training.py), so a new option is one field here."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop"]
ScheduleName = Literal["constant", "warmup_linear_decay"]
# "auto": bfloat16 compute on GPUs, float32 elsewhere.
MixedPrecision = Literal["auto", "off", "bfloat16", "float16"]
# "auto": Keras decides (XLA where the model supports it).
JitCompile = Literal["auto", "on", "off"]
# "auto": on for images whose shorter side is over CROP_AUTO_ABOVE pixels.
CropSetting = Literal["auto", "on", "off"]
# Crops are for photos: at CIFAR-10's 32 pixels they cost quick_cnn accuracy
# (docs/training-speed.md#random-resized-crops).
CROP_AUTO_ABOVE = 64


class Recipe(BaseModel):
    """Every training option. A default is how training ran before the option existed, so a
    recipe that leaves an option out, and a job stored before it, train as they did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(ge=1, le=1000, description="Passes over the training set.")
    batch_size: int = Field(ge=1, le=65536, description="Global batch, split across replicas.")
    learning_rate: float = Field(gt=0, le=100, description="Peak step size.")
    optimizer: OptimizerName
    momentum: float = Field(default=0.9, ge=0, lt=1, description="SGD's Nesterov momentum.")
    weight_decay: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Decoupled: each step multiplies weights by 1 - lr*decay.",
    )
    label_smoothing: float = Field(default=0.0, ge=0, le=0.5)
    lr_schedule: ScheduleName = Field(
        default="constant",
        description="`warmup_linear_decay`: per batch, up to the peak, then down.",
    )
    warmup_fraction: float = Field(
        default=0.0, ge=0, le=0.9, description="Share of the steps spent warming up."
    )
    flip: bool = Field(default=False, description="Random horizontal flips while training.")
    translate: int = Field(
        default=0,
        ge=0,
        le=16,
        description="Random shifts of up to this many pixels while training.",
    )
    random_resized_crop: CropSetting = Field(
        default="off",
        description="Random crops while training, each resized back to the image's size: "
        f"`auto`: for images whose shorter side is over {CROP_AUTO_ABOVE} pixels.",
    )
    crop_min_area: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="The least share of an image's area a random crop keeps (its shape the "
        "image's stretched by up to 4:3 either way).",
    )
    tta: bool = Field(
        default=False, description="Evaluate on each test image and its mirror image, averaged."
    )
    tta_shift: int = Field(
        default=0,
        ge=0,
        le=4,
        description="Also evaluate on each test image shifted this many pixels diagonally, "
        "each way (edges reflected; with their mirrors under `tta`), and average those "
        "predictions' mean in with equal weight (airbench94's TTA); 0: off.",
    )
    # airbench94's tricks, each a job option: a frozen patch-whitening first layer initialised
    # from the training images; a higher learning rate on batch-norm biases; an exponential
    # moving average of the weights (0: off), which the model ends with.
    whiten_init: bool = Field(
        default=False,
        description="Initialise the network's `whiten` layer as a patch-whitening filter bank "
        "from the training images, and freeze it (networks with such a layer: airbench).",
    )
    bn_bias_lr_scale: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="Learning-rate multiplier for batch-norm biases (SGD).",
    )
    ema_momentum: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Momentum of an average of the weights kept while "
        "training, which the model ends with; 0: off.",
    )
    mixed_precision: MixedPrecision = Field(
        default="auto", description="`auto`: bfloat16 compute on GPUs, float32 elsewhere."
    )
    jit_compile: JitCompile = Field(default="auto", description="XLA compilation of the step.")
    steps_per_execution: int = Field(
        default=1, ge=1, le=10000, description="Training steps run per call into the backend."
    )

    def crops(self, image_shape: tuple[int, ...]) -> bool:
        """Whether training on images of this (height, width, ...) takes random resized crops."""
        if self.random_resized_crop == "auto":
            return min(image_shape[:2]) > CROP_AUTO_ABOVE
        return self.random_resized_crop == "on"
