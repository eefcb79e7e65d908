"""Servers started as their own processes (the command lines): a free port, and waiting until one answers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable

import httpx

from tests.support import ROOT, loopback
from tests.support.polling import wait_until


def free_port() -> int:
    """A loopback port nothing listens on right now (for a command line that needs a number)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, timeout: float = 30.0,
                         ready: Callable[[httpx.Response], bool] = lambda answer: True) -> httpx.Response:
    """Poll ``url`` until ``process`` answers it (and ``ready`` accepts the answer); fail at once if it exits."""

    def answered() -> httpx.Response | None:
        if process.poll() is not None:
            output = process.communicate()
            raise AssertionError(f"the process exited with {process.returncode}: {output}")
        try:
            answer = loopback.get(url, timeout=1)
        except httpx.TransportError:
            return None
        return answer if ready(answer) else None

    return wait_until(answered, seconds=timeout, interval=0.05, what=f"{url} to answer")


def start_dataverse_emulator(port: int, *args: str) -> subprocess.Popen[bytes]:
    """`python -m emulators.dataverse --port PORT ARGS...`, returned once its controls answer."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.dataverse", "--port", str(port), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/_emulator/", process, timeout=15)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return process


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)
