"""``cascadeflow serve`` as a real child process for the drain and scale-out tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from .conftest import free_port

READY_TIMEOUT_S = 60.0
POLL_S = 0.05


class GatewayProcess:
    def __init__(self, config: dict[str, Any], path: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log = path.with_suffix(".log")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cascadeflow.cli.main import main; main()", "serve", "--config", str(path),
             "--port", str(self.port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=self.log.open("wb"), env=env,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> GatewayProcess:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/live", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(POLL_S)
        raise RuntimeError(f"gateway not ready: {self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
