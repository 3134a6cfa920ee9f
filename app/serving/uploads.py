"""Reading the images of a prediction request: multipart `file` fields (one or several), or
the image itself as the body (`Content-Type: image/*`)."""

from dataclasses import dataclass

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from app.serving.multipart_form import read_form
from core.errors import UnsupportedMediaError
from core.schemas import TopK

RAW_TYPES = ("image/", "application/octet-stream")
DEFAULT_TOP_K = 5
_TOP_K = TypeAdapter(TopK)
# Its bounds and description, from TopK itself, for the documentation below.
_TOP_K_SCHEMA = _TOP_K.json_schema()

# The query options are read here, by hand, rather than declared as the route's parameters:
# FastAPI's resolution of them was a noticeable share of the event loop's work for a
# single-image prediction (docs/performance.md). So they are documented by hand too.
OPENAPI_PARAMETERS = [
    {
        "name": "model",
        "in": "query",
        "required": False,
        "description": "A model id, a model name (its `production` version), `name@alias` "
        "or `name@<version>`; default: the default name's production version.",
        "schema": {"type": "string"},
    },
    {
        "name": "top_k",
        "in": "query",
        "required": False,
        "description": _TOP_K_SCHEMA["description"],
        "schema": {**_TOP_K_SCHEMA, "default": DEFAULT_TOP_K},
    },
]
OPENAPI_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One or more images (repeat the field); "
                            "JPEG, PNG, WebP, GIF, BMP, TIFF.",
                        },
                        "model": {
                            "type": "string",
                            "description": "As the `model` query parameter.",
                        },
                        "top_k": _TOP_K_SCHEMA,
                    },
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@dataclass
class Upload:
    """An uploaded image: its bytes, and its file name when it came as a form's `file`."""

    filename: str | None
    data: bytes


@dataclass
class PredictionRequest:
    uploads: list[Upload]
    model: str | None
    top_k: int


async def read_prediction_request(request: Request, max_images: int) -> PredictionRequest:
    """The images, and the `model` and `top_k` options from the query string (which form fields
    of the same names override)."""
    query = request.query_params
    model = query.get("model") or None
    top_k = _valid_top_k(query["top_k"], "query") if "top_k" in query else DEFAULT_TOP_K
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        return await _read_multipart(request, model, top_k, max_images)
    if content_type.startswith(RAW_TYPES):
        return PredictionRequest([Upload(None, await request.body())], model, top_k)
    raise UnsupportedMediaError(
        "Send the image as multipart/form-data in a `file` field (repeat it for several "
        "images), or as the request body with Content-Type: image/*."
    )


async def _read_multipart(
    request: Request, model: str | None, top_k: int, max_images: int
) -> PredictionRequest:
    # More files than this are refused with a 400 before they are read.
    parts = await read_form(request, max_files=max_images, max_fields=10)
    files = [part for part in parts if part.name == "file"]
    if not files:
        raise _invalid("file", "Field required: one or more images in `file` fields.")
    if any(file.filename is None for file in files):
        raise _invalid("file", "Each `file` field must be a file upload, not text.")
    fields = {part.name: part.data for part in parts if part.filename is None}  # the last wins
    if fields.get("model"):
        model = fields["model"].decode(errors="replace")
    if "top_k" in fields:
        top_k = _valid_top_k(fields["top_k"].decode(errors="replace"), "body")
    uploads = [Upload(file.filename, file.data) for file in files]
    return PredictionRequest(uploads, model, top_k)


def _valid_top_k(received: str, where: str) -> int:
    try:
        return _TOP_K.validate_python(received)
    except ValidationError as error:
        raise _invalid("top_k", error.errors()[0]["msg"], received, where) from None


def _invalid(
    field: str, message: str, received: str | None = None, where: str = "body"
) -> RequestValidationError:
    problem = {"loc": (where, field), "msg": message, "type": "value_error"}
    if received is not None:
        problem["input"] = received
    return RequestValidationError([problem])
