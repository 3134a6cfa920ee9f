"""The HTTP floor for the load benchmark: the service's stack (uvicorn, FastAPI, the service's
multipart parsing) answering an image upload with a constant, without any model."""

from fastapi import FastAPI, Request

from app.serving.multipart_form import read_form

app = FastAPI()
ANSWER = {"model_id": "none", "predictions": [{"label": "ship", "index": 8, "probability": 1.0}]}


@app.post("/predict")
async def predict(request: Request) -> dict:
    await read_form(request, max_files=1000, max_fields=10)
    return ANSWER
