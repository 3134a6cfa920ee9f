"""Trained models, the architectures jobs may train, and datasets."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
