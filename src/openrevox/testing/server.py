"""A real ``openrevox serve`` process on loopback, for end-to-end and conformance tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database_url: str, extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "OPENREVOX_DATABASE_URL": database_url, **(extra or {})}
    env.setdefault("OPENREVOX_LOG_LEVEL", "warning")
    # API tests check orders as created; a test that wants calls dialled turns it on.
    env.setdefault("OPENREVOX_DISPATCHER_IN_PROCESS", "false")
    return env


def create_key(database_url: str, org: str, email: str) -> str:
    """``openrevox keys create``; returns the key (the last line it prints)."""
    done = subprocess.run(
        [sys.executable, "-m", "openrevox", "keys", "create", "--org", org, "--email", email],
        env=_env(database_url, None),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


@dataclass
class RunningServer:
    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_server(
    database_url: str, *, env: dict[str, str] | None = None, startup_timeout: float = 30.0
) -> Iterator[RunningServer]:
    """Start ``openrevox serve`` on a free port; stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "openrevox", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(database_url, env),
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, startup_timeout)
        yield RunningServer(base_url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"openrevox serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"openrevox serve did not answer on {base_url} within {timeout} s")
