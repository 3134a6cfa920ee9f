"""`ServiceClient`: one method per endpoint of the HTTP API, returning the decoded JSON."""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
from httpx_sse import EventSource, connect_sse

DEFAULT_URL = "http://127.0.0.1:8000"
# A large archive takes a while to send; the server answers once it has it (and decodes the
# images later), yet a slow disk may make it wait for the last bytes to be written.
UPLOAD_TIMEOUT = httpx.Timeout(30, read=600)
# A model's first export builds a SavedModel before the server answers.
EXPORT_TIMEOUT = httpx.Timeout(30, read=600)
# Longer than the server's keep-alive comments, so a silent stream means a broken one.
STREAM_TIMEOUT = httpx.Timeout(30, read=60)


class ServiceError(Exception):
    """The service refused a request (`status`), or could not be reached (`status` None)."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return self.detail if self.status is None else f"{self.detail} (HTTP {self.status})"


class ServiceClient:
    """The HTTP API of one keras-train-serve service."""

    def __init__(
        self, url: str = DEFAULT_URL, api_key: str | None = None, timeout: float = 30
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ServiceClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/healthz")

    def train(self, /, **request: Any) -> dict[str, Any]:
        """Queue a training job; `request` holds `TrainRequest` fields (unset ones omitted)."""
        body = {name: value for name, value in request.items() if value is not None}
        return self._request("POST", "/train", json=body)

    def list_jobs(
        self, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        return self._request("GET", "/jobs", params=params)

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", f"/jobs/{_segment(job_id)}")

    def job_logs(self, job_id: str, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
        """Records `offset` to `offset + limit` of the job's worker log, and their `count`."""
        params = {"offset": offset, "limit": limit}
        return self._request("GET", f"/jobs/{_segment(job_id)}/logs", params=params)

    def job_curves(self, job_id: str, file: BinaryIO) -> None:
        """Write the job's loss and accuracy curves, a PNG, into `file`."""
        self._download(f"/jobs/{_segment(job_id)}/curves.png", file)

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self._request("POST", f"/jobs/{_segment(job_id)}/cancel")

    def delete_job(self, job_id: str) -> None:
        self._request("DELETE", f"/jobs/{_segment(job_id)}")

    def list_models(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return self._request("GET", "/models", params={"limit": limit, "offset": offset})

    def get_model(self, model_id: str) -> dict[str, Any]:
        return self._request("GET", f"/models/{_segment(model_id)}")

    def download_model(self, model_id: str, file: BinaryIO) -> None:
        """Write the model's `.keras` file into `file`."""
        self._download(f"/models/{_segment(model_id)}/download", file)

    def export_model(self, model_id: str, export_format: str, file: BinaryIO) -> None:
        """Write the model's export (a `.tar.gz`) into `file`."""
        path = f"/models/{_segment(model_id)}/export"
        params = {"format": export_format}
        self._download(path, file, params=params, timeout=EXPORT_TIMEOUT)

    def model_confusion(self, model_id: str, file: BinaryIO) -> None:
        """Write the model's confusion matrix, a PNG, into `file`."""
        self._download(f"/models/{_segment(model_id)}/confusion.png", file)

    def delete_model(self, model_id: str) -> None:
        self._request("DELETE", f"/models/{_segment(model_id)}")

    def set_alias(self, name: str, alias: str, version: int, reason: str | None) -> dict[str, Any]:
        path = f"/model-names/{_segment(name)}/aliases/{_segment(alias)}"
        return self._request("PUT", path, json={"version": version, "reason": reason})

    def rollback(self, name: str, alias: str) -> dict[str, Any]:
        path = f"/model-names/{_segment(name)}/rollback"
        return self._request("POST", path, json={"alias": alias})

    def list_datasets(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return self._request("GET", "/datasets", params={"limit": limit, "offset": offset})

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        return self._request("GET", f"/datasets/{_segment(dataset_id)}")

    def delete_dataset(self, dataset_id: str) -> None:
        self._request("DELETE", f"/datasets/{_segment(dataset_id)}")

    def upload_dataset(
        self, archive: Path, name: str | None = None, image_size: str | None = None
    ) -> dict[str, Any]:
        form = {key: value for key, value in (("name", name), ("image_size", image_size)) if value}
        with archive.open("rb") as file:
            return self._request(
                "POST",
                "/datasets",
                files={"file": (archive.name, file)},
                data=form,
                timeout=UPLOAD_TIMEOUT,
            )

    def predict(
        self, images: Sequence[Path], model_id: str | None = None, top_k: int = 5
    ) -> dict[str, Any]:
        """Each image's `top_k` classes, from one model (default: the default name's
        production version)."""
        params: dict[str, Any] = {"top_k": top_k}
        if model_id:
            params["model"] = model_id
        files = [("file", (path.name, path.read_bytes())) for path in images]
        return self._request("POST", "/predict", params=params, files=files)

    @contextmanager
    def job_events(self, job_id: str) -> Iterator[EventSource]:
        """The job's Server-Sent Events stream, opened and checked; see `client.events`."""
        try:
            with connect_sse(
                self._http, "GET", f"/jobs/{_segment(job_id)}/events", timeout=STREAM_TIMEOUT
            ) as source:
                if source.response.is_error:
                    source.response.read()
                    raise _refusal(source.response)
                yield source
        except httpx.TransportError as error:
            # Also while reading: a stream cut short (the server restarting) lands here.
            raise self._unreachable(error) from error

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise self._unreachable(error) from error
        if response.is_error:
            raise _refusal(response)
        # Every answer with a body is a JSON object; a 204 has none.
        body: dict[str, Any] = response.json() if response.content else {}
        return body

    def _download(self, path: str, file: BinaryIO, **kwargs: Any) -> None:
        try:
            with self._http.stream("GET", path, **kwargs) as response:
                if response.is_error:
                    response.read()
                    raise _refusal(response)
                for chunk in response.iter_bytes():
                    file.write(chunk)
        except httpx.TransportError as error:
            # Also a body cut short of its Content-Length: the caller keeps no partial file.
            raise self._unreachable(error) from error

    def _unreachable(self, error: httpx.TransportError) -> ServiceError:
        reason = str(error) or type(error).__name__
        return ServiceError(f"Cannot reach the service at {self.url}: {reason}")


def _refusal(response: httpx.Response) -> ServiceError:
    """The service's own `{"detail": ...}` message, else the HTTP status in words."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = response.reason_phrase or "The service refused the request."
    if not isinstance(detail, str):
        detail = json.dumps(detail)
    return ServiceError(" ".join(detail.split()), response.status_code)


def _segment(identifier: str) -> str:
    # An id is one path segment: "../x" or "a/b" must not reach another route.
    return quote(identifier, safe="")
