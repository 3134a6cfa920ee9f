"""Uvicorn's HTTP connections, ending without dropping a request already on its way.

On stopping, uvicorn stops accepting, then at once closes every connection with no request in
progress. One accepted a moment earlier (or a kept-alive one) may hold a request it has not read
yet: closed then, its client gets no response at all. That is what SIGHUP's replacement of the
serving processes cost (`app/api_processes.py`): an old process, told to stop, closed a
connection it had just accepted. Here such a connection is kept a short while: a request that
arrives on it is answered with `Connection: close`, as uvicorn answers one already in progress,
and a connection still silent afterwards is closed. Connections not yet accepted are not at
risk: they wait on the listening socket, which the other serving processes share.

It is the protocol, not uvicorn's Server, that changes: uvicorn's process manager builds the
Server of each serving process itself, while the protocol class is a setting (`http`) that the
config carries to them.
"""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

# How long a connection with no request in progress stays open once the server stops. A client
# sends its request as soon as it has connected, so it arrives within a round trip; a second
# covers a busy machine. A connection that sends nothing delays the stop by this much.
ARRIVING_REQUEST_GRACE_SECONDS = 1.0


class GracefulHttpProtocol(HttpToolsProtocol):
    """Uvicorn's own protocol with `httptools` (what "auto" picks: `uvicorn[standard]` brings it),
    which differs only once the server stops."""

    _stopping = False

    def shutdown(self) -> None:
        """Called by the server, once, as it stops."""
        self._stopping = True
        if self._request_in_progress():
            super().shutdown()  # answered, with `Connection: close`, then closed
        else:
            # Closed then, unless a request arrived meanwhile: that one is answered first.
            self.loop.call_later(ARRIVING_REQUEST_GRACE_SECONDS, super().shutdown)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        # A request that arrived once the server stopped: answered, with `Connection: close`.
        # (A WebSocket upgrade starts none here.)
        if self._stopping and self._request_in_progress():
            super().shutdown()

    def _request_in_progress(self) -> bool:
        cycle: RequestResponseCycle | None = self.cycle  # None until a first request arrives
        return cycle is not None and not cycle.response_complete
