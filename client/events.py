"""Following a job's Server-Sent Events until it ends, through broken connections."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from httpx_sse import EventSource, SSEError

from client.api import ServiceClient, ServiceError
from client.outages import Outage

FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class JobEvent:
    """One event: `state` and `end` carry the whole job, `status`, `progress` and `epoch`
    what changed."""

    type: str
    data: dict[str, Any]


def decode_events(source: EventSource) -> Iterator[JobEvent]:
    """The stream's events with their JSON data; keep-alive comments are skipped."""
    try:
        for sse in source.iter_sse():
            try:
                yield JobEvent(sse.event, sse.json())
            except ValueError as error:
                raise ServiceError(f"The `{sse.event}` event's data is not JSON.") from error
    except SSEError as error:
        raise ServiceError(str(error), source.response.status_code) from error


def follow_job(
    service: ServiceClient,
    job_id: str,
    on_reconnect: Callable[[ServiceError], None] = lambda error: None,
    give_up_after: float = 300,
    retry_every: float = 1,
) -> Iterator[JobEvent]:
    """Every event until `end`. A stream that breaks (the server restarting) is opened
    again, every `retry_every` seconds for up to `give_up_after`; the new stream's first
    event, `state`, brings the follower up to date."""
    outage = Outage(on_reconnect, give_up_after)
    while True:
        try:
            with service.job_events(job_id) as source:
                for event in decode_events(source):
                    outage.ended()
                    yield event
                    if event.type == "end":
                        return
            problem = ServiceError("The event stream closed before the job ended.")
        except ServiceError as error:
            problem = error
        outage.failed(problem)
        time.sleep(retry_every)
