"""Predicting the class of an uploaded image."""

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool

from app.deps import ServicesDep
from core.schemas import PredictionPublic

router = APIRouter(tags=["predict"])


@router.post("/predict")
async def create_prediction(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="The image: JPEG, PNG, WebP, GIF, BMP, TIFF.")],
    model: Annotated[
        str | None, Form(description="Model id; default: the newest trained model.")
    ] = None,
    top_k: Annotated[int, Form(ge=1, le=1000, description="How many classes to return.")] = 5,
) -> PredictionPublic:
    """The model's most likely classes for the image, with probabilities summing to 1."""
    image = await file.read()
    return await run_in_threadpool(services.predictor.predict, image, model or None, top_k)
