"""Domain errors. The HTTP layer maps each kind to one status code, in one place."""


class ServiceError(Exception):
    """Base of every error the service reports to its users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ServiceError):
    """A job, model or dataset that does not exist."""


class ConflictError(ServiceError):
    """The request is valid but the service's state does not allow it now."""


class DatasetNotReadyError(ConflictError):
    """A dataset still being prepared, or one that failed to be: no job may train on it."""


class InvalidInputError(ServiceError):
    """An upload or value that cannot be used; `problems` lists what is wrong."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class TooManyRequestsError(ServiceError):
    """A client over a limit on what it may hold at once; it may try again after a while."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UnsupportedMediaError(ServiceError):
    """An upload of a type the service does not read."""


class DatasetUnavailableError(ServiceError):
    """A dataset that exists but cannot be loaded right now (e.g. no network to download it)."""


class ModelUnavailableError(ServiceError):
    """A trained model whose files cannot be loaded (missing or damaged on disk)."""
