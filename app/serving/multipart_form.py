"""The parts of a multipart/form-data body, parsed in memory by `multipart` (the sans-IO parser
of Bottle's author).

Prediction bodies are already bounded by MAX_UPLOAD_BYTES, so the parts are kept as bytes.
This parser takes far less of the event loop's time for a many-image body than python-multipart,
even driven directly without Starlette's temporary files (docs/performance.md): it finds lines
and delimiters with `bytes.find` instead of walking headers byte by byte in Python.
"""

from dataclasses import dataclass

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_FIELD_BYTES = 64 * 1024  # a text field (a model id, top_k), not a file


@dataclass
class FormPart:
    name: str
    filename: str | None  # None for a text field
    data: bytes


class _FormCollector:
    """The parser's events gathered into parts, with the limits enforced as they arrive."""

    def __init__(self, max_files: int, max_fields: int) -> None:
        self.parts: list[FormPart] = []
        self._max_files = max_files
        self._max_fields = max_fields
        self._files = self._fields = 0
        # The part being read.
        self._name = ""
        self._filename: str | None = None
        self._chunks: list[bytes] = []
        self._size = 0

    def take(self, event: MultipartSegment | bytes | None) -> None:
        """A part's headers, then its data in chunks, then None at its end."""
        if isinstance(event, MultipartSegment):
            self._begin(event)
        elif event is not None:
            self._size += len(event)
            if self._filename is None and self._size > MAX_FIELD_BYTES:
                raise _bad_request(
                    f"Form field {self._name!r} is over {MAX_FIELD_BYTES // 1024} KiB."
                )
            self._chunks.append(event)
        else:
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self.parts.append(FormPart(self._name, self._filename, data))

    def _begin(self, segment: MultipartSegment) -> None:
        # Counted at each part's headers, before its data is read.
        if not segment.name:
            raise _bad_request('Each part needs a Content-Disposition header with a "name".')
        if segment.filename is not None:
            self._files += 1
            if self._files > self._max_files:
                raise _bad_request(f"Too many files. Maximum number of files is {self._max_files}.")
        else:
            self._fields += 1
            if self._fields > self._max_fields:
                raise _bad_request(
                    f"Too many fields. Maximum number of fields is {self._max_fields}."
                )
        self._name = _text(segment.name)
        self._filename = None if segment.filename is None else _text(segment.filename)
        self._chunks, self._size = [], 0


async def read_form(request: Request, max_files: int, max_fields: int) -> list[FormPart]:
    """Every part of the request's multipart body, in order; a 400 for a malformed body or one
    over the limits (more files than `max_files`, more text fields than `max_fields`)."""
    _, options = parse_options_header(request.headers.get("content-type", ""))
    if not options.get("boundary"):
        raise _bad_request("Missing boundary in multipart.")
    collector = _FormCollector(max_files, max_fields)
    try:
        # Headers are read as Latin-1, which cannot fail, and names decoded as UTF-8 after.
        with PushMultipartParser(options["boundary"], header_charset="latin1") as parser:
            async for chunk in request.stream():
                for event in parser.parse(chunk):
                    collector.take(event)
    except MultipartError as error:
        raise _bad_request(f"Invalid multipart data: {error}.") from None
    return collector.parts


def _text(header_value: str) -> str:
    """A name or filename, as UTF-8 if its bytes are (browsers send UTF-8), else as Latin-1,
    as browsers and Starlette fall back."""
    raw = header_value.encode("latin-1")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return header_value


def _bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)
