"""Every listener rebinds at once after a stop: a port that just served connections (some in
TIME_WAIT, closed by the server first) is taken again by a restarted server, as a
``systemctl restart`` needs."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from gitconfig.runtime.workers import listen_each, listener, reserve_port


def _port_with_time_wait() -> int:
    """A loopback port whose server side closed a connection first: that connection sits in
    TIME_WAIT on the port, as after a server stopped while clients were connected. The old
    listener had ``SO_REUSEADDR``, as ours and grpcio's have: Linux lets a socket bind over
    TIME_WAIT only when both the old and the new socket say so."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port: int = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first: its side goes to TIME_WAIT
    client.recv(1)  # the client sees the end...
    client.close()  # ...and closes too
    server.close()
    return port


@pytest.mark.parametrize(
    "bind",
    [
        pytest.param(lambda port: [reserve_port("127.0.0.1", port)], id="the gRPC reservation"),
        pytest.param(lambda port: [listener("127.0.0.1", port)], id="the HTTP listener"),
        pytest.param(lambda port: listen_each("127.0.0.1", port, 2), id="one per worker"),
    ],
)
def test_a_port_in_time_wait_is_bound_again(bind: Callable[[int], list[socket.socket]]) -> None:
    port = _port_with_time_wait()
    sockets = bind(port)
    try:
        assert all(sock.getsockname()[1] == port for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
