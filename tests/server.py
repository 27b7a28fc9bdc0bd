"""A real uvicorn process on loopback serving a test database, for tests that need more than TestClient."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SECRET

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    database_url: str, port: int, log_path: Path, entry: str = "uvicorn"
) -> tuple[subprocess.Popen[bytes], Any]:
    """Serve ``database_url`` on loopback, its stderr (where the service logs) in ``log_path``.
    ``entry``: "uvicorn" (``uvicorn --factory app.main:app_factory``, one worker) or "shield"
    (``shield serve``, which migrates first and prints its banner on stdout, not kept here)."""
    env = {
        **os.environ,
        "SHIELD_DATABASE_URL": database_url,
        "SHIELD_JWT_SECRET": SECRET,
        "SHIELD_POLICY_DIR": str(ROOT / "policies"),
    }
    env.pop("SHIELD_JWT_JWKS", None)
    commands = {
        "uvicorn": ["-m", "uvicorn", "--factory", "app.main:app_factory", "--workers", "1"],
        "shield": ["-m", "app.cli", "serve"],
    }
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, *commands[entry], "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    return proc, log


def wait_until_up(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not start in {START_TIMEOUT}s:\n{log_path.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
