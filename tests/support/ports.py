"""Free loopback ports for tests that start real servers."""

from __future__ import annotations

import socket
from contextlib import ExitStack

__all__ = ["free_ports"]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free on ``host`` now, none 1000 above another (a service's metrics port).

    The sockets stay bound until all are drawn, so the kernel never hands the same port out twice.
    """
    with ExitStack() as held:
        ports: list[int] = []
        while len(ports) < count:
            sock = held.enter_context(socket.socket())
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            if port + 1000 not in ports and port - 1000 not in ports:
                ports.append(port)
        return ports
