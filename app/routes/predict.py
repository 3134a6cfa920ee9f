"""Predicting the classes of uploaded images."""

import orjson
from fastapi import APIRouter, Request, Response

from app.auth import bearer_scheme, client_of
from app.services import Services
from app.serving.uploads import OPENAPI_PARAMETERS, OPENAPI_REQUEST_BODY, read_prediction_request
from core.schemas import PredictionPublic

router = APIRouter(tags=["predict"])


@router.post(
    "/predict",
    response_model=PredictionPublic,
    openapi_extra={
        "parameters": OPENAPI_PARAMETERS,
        **OPENAPI_REQUEST_BODY,
        "security": [{bearer_scheme.scheme_name: []}],  # checked by app/auth.py
    },
)
async def create_prediction(request: Request) -> Response:
    """The model's most likely classes for each image, with probabilities summing to 1.

    Multipart `file` fields (one or several; `model` and `top_k` may also be form fields), or
    the image itself as the body with `Content-Type: image/*`. Concurrent requests share
    batches on the server.
    """
    # Read by hand, not through ServicesDep: on this hot path FastAPI's resolution of a
    # dependency, like that of parameters (app/serving/uploads.py), costs measurable event-loop
    # time (docs/performance.md).
    services: Services = request.app.state.services
    read = await read_prediction_request(request, services.settings.prediction.max_batch)
    record, predictions = await services.predictor.predict(
        read.uploads, read.model, read.top_k, client_of(request, services.settings.api_keys)
    )
    results = [
        {"filename": upload.filename, "predictions": image}
        for upload, image in zip(read.uploads, predictions, strict=True)
    ]
    # Built as plain JSON; tests hold it to PredictionPublic, which documents it.
    # orjson: the standard encoder took many times as long (docs/performance.md#answers).
    body = {"model_id": record.id, "predictions": predictions[0], "results": results}
    return Response(orjson.dumps(body), media_type="application/json")
