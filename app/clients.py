"""Who sent a request, for sharing the service's capacity fairly between clients."""

from starlette.requests import HTTPConnection


def client_identity(connection: HTTPConnection) -> str:
    """Its API key when it sent one, else its address: all clients behind one proxy, or on one
    machine without keys, count as one."""
    scheme, _, key = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return f"key:{key.strip()}"
    peer = connection.client
    return f"address:{peer.host if peer else 'unknown'}"
