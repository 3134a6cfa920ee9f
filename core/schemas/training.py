"""What `POST /train` accepts, and the parameters a job records. Both derive from `Recipe`'s
fields (models/recipe.py), where each training option is declared once."""

from typing import TYPE_CHECKING, Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from core.model_names import NAME_PATTERN
from core.promotion import PromotionPolicy
from models import ARCHITECTURES, get_architecture
from models.recipe import Recipe

DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["cifar10"])]
ModelName = Annotated[str, Field(pattern=NAME_PATTERN.pattern, examples=["cifar10"])]
PROMOTION_DESCRIPTION = (
    "Whether the trained version takes its name's `production` alias: `if_better` (only if its "
    "test accuracy beats production's on the same test split, by `promotion_margin`), `always` "
    "(if comparable) or `never`. A version within 2 points of chance is never promoted."
)
MARGIN_DESCRIPTION = (
    "How much test accuracy (0 to 1) a version must gain over production to take it, "
    "under `if_better`."
)


def optional_fields(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s fields, each optional: the same type, bounds and description, default None."""
    # `Optional[...]` rather than `| None`, which mypy cannot check on an annotation at runtime.
    return {
        name: (Optional[field.annotation], FieldInfo.merge_field_infos(field, default=None))  # noqa: UP045
        for name, field in model.model_fields.items()
    }


class _TrainingTarget(BaseModel):
    """What to train: the first fields of `POST /train`, before the recipe's."""

    # JSON bodies may hold NaN, Infinity or 1e400 (read as infinity): none is a usable value.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    dataset: DatasetId = Field("cifar10", description="Dataset id: `cifar10` or an uploaded one.")
    model: str = Field("seed_cnn", description="Network architecture to train.")

    @field_validator("model")
    @classmethod
    def _known_architecture(cls, name: str) -> str:
        if name not in ARCHITECTURES:
            raise ValueError(f"Unknown model. Expected one of: {', '.join(ARCHITECTURES)}")
        return name


# Recipe's fields as optional overrides, between what to train and the job's own fields (the
# order of the API's schema). Made at runtime: type checkers see the target alone.
if TYPE_CHECKING:
    RecipeOverrides = _TrainingTarget
else:
    RecipeOverrides = create_model(
        "RecipeOverrides", __base__=_TrainingTarget, __module__=__name__, **optional_fields(Recipe)
    )


class TrainRequest(RecipeOverrides):
    """What `POST /train` accepts. Unset recipe values come from the network's recipe."""

    if TYPE_CHECKING:
        # What type checkers see of the recipe's overrides, made at runtime: values of any type.
        def __init__(self, **data: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...

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
    model_name: ModelName | None = Field(
        None,
        description="The named model the trained model becomes a version of; "
        "unset: the dataset's id.",
    )
    promotion: PromotionPolicy = Field(PromotionPolicy.IF_BETTER, description=PROMOTION_DESCRIPTION)
    promotion_margin: float = Field(0.0, ge=0, le=1, description=MARGIN_DESCRIPTION)

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
        given = self.model_dump(include=set(Recipe.model_fields), exclude_none=True)
        if given.get("optimizer", recipe.optimizer) != "sgd" and "bn_bias_lr_scale" not in given:
            given["bn_bias_lr_scale"] = 1.0  # the recipe's is for its SGD
        return TrainParams(
            **(recipe.model_dump() | given),
            dataset=self.dataset,
            model=self.model,
            validation_split=self.validation_split,
            shuffle=self.shuffle,
            seed=self.seed if self.seed is not None else seed,
            model_name=self.model_name or self.dataset,
            promotion=self.promotion,
            promotion_margin=self.promotion_margin,
        )


class TrainParams(Recipe):
    """Every training parameter of a job, resolved; stored with the job and its model."""

    model_config = ConfigDict(
        # Read back from stored jobs: an option added later takes `Recipe`'s default (off), and
        # one removed later must not make them unreadable.
        extra="ignore",
        # Every field is in every response, defaults or not.
        json_schema_serialization_defaults_required=True,
    )

    dataset: str
    model: str
    validation_split: float
    shuffle: bool
    seed: int
    model_name: str = Field(description="The named model the trained model becomes a version of.")
    promotion: PromotionPolicy = Field(PromotionPolicy.IF_BETTER, description=PROMOTION_DESCRIPTION)
    promotion_margin: float = Field(0.0, description=MARGIN_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _named_after_the_dataset(cls, data: Any) -> Any:
        # Jobs stored before models had names: their models took the dataset's name.
        if isinstance(data, dict) and data.get("model_name") is None and "dataset" in data:
            return {**data, "model_name": data["dataset"]}
        return data
