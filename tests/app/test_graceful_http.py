"""A stopping server answers a request that reaches a connection it accepted before it stopped."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.graceful_http import ARRIVING_REQUEST_GRACE_SECONDS, GracefulHttpProtocol

REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@contextmanager
def serving(protocol) -> Iterator[tuple[uvicorn.Server, socket.socket]]:
    """A uvicorn server in a thread, and a connection to it that the server has accepted."""
    config = uvicorn.Config(hello, port=0, http=protocol, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the server started")
    port = server.servers[0].sockets[0].getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        wait_until(lambda: server.server_state.connections, "the connection accepted")
        try:
            yield server, connection
        finally:
            server.should_exit = True
            thread.join(10)
    assert not thread.is_alive(), "the server did not stop"


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"not within 10 s: {what}"
        time.sleep(0.005)


def stop_accepting(server: uvicorn.Server) -> None:
    """Begin the server's shutdown, as a SIGTERM does, and wait until it no longer accepts."""
    server.should_exit = True
    wait_until(lambda: not server.servers[0].is_serving(), "the server stopped accepting")


def read_to_the_end(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_a_request_sent_on_a_new_connection_as_the_server_stops_is_answered():
    with serving(GracefulHttpProtocol) as (server, connection):
        stop_accepting(server)
        connection.sendall(REQUEST)
        response = read_to_the_end(connection)  # the server closes the connection after it

    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nconnection: close\r\n" in response
    assert b"hello" in response


def test_a_request_sent_on_a_kept_alive_connection_as_the_server_stops_is_answered():
    with serving(GracefulHttpProtocol) as (server, connection):
        connection.sendall(REQUEST)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")  # kept alive
        stop_accepting(server)
        connection.sendall(REQUEST)
        response = read_to_the_end(connection)

    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nconnection: close\r\n" in response


def test_a_connection_that_sends_nothing_is_closed_after_the_grace():
    with serving(GracefulHttpProtocol) as (server, connection):
        stop_accepting(server)
        stopped = time.monotonic()
        assert read_to_the_end(connection) == b""
        waited = time.monotonic() - stopped

    assert ARRIVING_REQUEST_GRACE_SECONDS - 0.2 < waited < ARRIVING_REQUEST_GRACE_SECONDS + 5


def test_uvicorns_own_protocol_closes_such_a_connection_unanswered():
    # What GracefulHttpProtocol is for: once uvicorn answers such a request itself, it can go.
    with serving(HttpToolsProtocol) as (server, connection):
        stop_accepting(server)
        wait_until(lambda: not server.server_state.connections, "the connection closed")
        try:
            connection.sendall(REQUEST)
            response = read_to_the_end(connection)
        except ConnectionResetError:
            response = b""

    assert response == b""
