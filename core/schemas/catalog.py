"""Trained models, the architectures jobs may train, and datasets."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str = Field(description="The named model this model is a version of.")
    version: int = Field(description="Its version of `name`: 1, 2, 3... in order of creation.")
    aliases: list[str] = Field(
        default=[], description="The aliases of `name` pointing at this version (`production`...)."
    )
    warning: str | None = Field(
        default=None,
        description="Why it may not be fit to serve, e.g. a test accuracy close to chance.",
    )
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


class InputSizesPublic(BaseModel):
    """Image sides, in pixels, a network is made for."""

    design: int = Field(description="The side the network was designed for.")
    low: int = Field(description="The shortest side it is meant for.")
    high: int = Field(
        description="The longest side it is meant for; a job on images outside `low` to `high` "
        "trains, with a warning in its log."
    )
    smallest: int = Field(description="The shortest side it can take: `POST /train` refuses less.")


class ArchitecturePublic(BaseModel):
    name: str
    description: str
    epochs: int = Field(description="Epochs a job trains for when the request sets none.")
    batch_size: int = Field(description="Batch size a job uses when the request sets none.")
    input_sizes: InputSizesPublic


class ArchitecturesPublic(BaseModel):
    data: list[ArchitecturePublic]
    count: int


class DatasetProgress(BaseModel):
    done: int = Field(description="Images decoded (or found undecodable) so far.")
    total: int | None = Field(description="Images in the archive; null until it is listed.")


class DatasetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str = Field(description="`builtin` or `image_folder`.")
    created_at: datetime
    status: str = Field(
        description="`processing`: uploaded, its images being checked and decoded (see "
        "`progress`); `ready`: jobs may train on it; `failed`: it cannot be used (see `error` "
        "and `problems`)."
    )
    progress: DatasetProgress | None = Field(
        default=None, description="Images decoded so far of all; null for a built-in dataset."
    )
    error: str | None = Field(
        default=None,
        validation_alias="error_message",
        description="Why a failed dataset cannot be used.",
    )
    problems: list[str] = Field(
        default=[],
        description="Each problem of a failed dataset's archive (a file that is not an image, "
        "a class with no training images...).",
    )
    class_names: list[str] | None = Field(description="Null until the dataset is ready.")
    image_shape: list[int] | None = Field(description="Null until the dataset is ready.")
    train_count: int | None = Field(description="Null until the dataset is ready.")
    test_count: int | None = Field(description="Null until the dataset is ready.")
    class_counts: dict[str, Any] | None = Field(
        description="Images per class in each split; null until the dataset is ready."
    )
    test_split: str | None = Field(
        description="`archive`: from the archive's test/ folder; "
        "`held_out`: a fixed seeded share of train/; `builtin`. Null until the dataset is ready."
    )

    @field_validator("problems", mode="before")
    @classmethod
    def _none_is_no_problem(cls, value: Any) -> Any:
        return [] if value is None else value


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    count: int
