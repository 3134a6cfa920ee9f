"""What `POST /predict` answers."""

from typing import Annotated

from pydantic import BaseModel, Field

TopK = Annotated[int, Field(ge=1, le=1000, description="How many classes to return.")]


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
