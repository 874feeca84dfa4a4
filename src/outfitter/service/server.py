"""Run an app with uvicorn, on the loopback interface unless told otherwise."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from outfitter.service.security import redact_access_log


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    """Serve `app` until interrupted (Ctrl-C); the access log never shows an API key given in an address."""
    redact_access_log()
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, timeout_keep_alive=5)


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning") -> Iterator[str]:
    """Serve `app` in a background thread (port 0: a free one) and yield its base URL; stops on exit."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, server_header=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server failed to start (see the log above)")
            time.sleep(0.05)
        bound_host, bound_port = sock.getsockname()[:2]
        yield f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
