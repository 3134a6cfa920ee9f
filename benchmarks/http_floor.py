"""The HTTP floor for the load benchmark: the service's stack (uvicorn, FastAPI, multipart
parsing) answering an image upload with a constant, without any model."""

from fastapi import FastAPI, Request

app = FastAPI()
ANSWER = {"model_id": "none", "predictions": [{"label": "ship", "index": 8, "probability": 1.0}]}


@app.post("/predict")
async def predict(request: Request) -> dict:
    form = await request.form()
    for upload in form.getlist("file"):
        await upload.read()  # type: ignore[union-attr]
    return ANSWER
