"""A bubblewrap sandbox for one run of untrusted Python (model-written code), on Linux.

Each run gets fresh PID, network, mount, IPC, UTS (and cgroup) namespaces from ``bwrap``: its own ``/proc``
(no other process is visible), no network (only its own loopback), a root file system that holds nothing but a
read-only view of ``/usr`` and of the Python installation, and a small private tmpfs at ``/tmp`` as the only
writable place. The environment is empty, the only open descriptors are stdin (``/dev/null``) and the stdout
and stderr pipes, and it dies with its parent. Inside, before any of the program runs, POSIX limits are set
with hard = soft (CPU, address space, file size, open files, processes) and the run drops to an unprivileged
uid without capabilities:

* run by a normal user, bwrap adds a user namespace (the code cannot create another one);
* run by root, a user namespace would map the code to root outside, where ``RLIMIT_NPROC`` does not apply,
  so bwrap runs without one and the code switches to a fresh uid that no account uses, under
  ``no_new_privs``: the process limit then holds, and the uid owns nothing outside the sandbox.

The parent reads at most ``max_output_bytes`` of stdout and kills the whole namespace at the wall-clock deadline:
bwrap's own init is PID 1 inside (never ``--as-pid-1``: the program drops its uid, which clears the
parent-death signal), and when it dies every process inside dies. There is no weaker fallback:
:meth:`Sandbox.detect` raises :class:`~cascadeflow.errors.ConfigError` when bubblewrap is missing or refused.
docs/sandbox.md has the threat model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cascadeflow.errors import ConfigError

INPUT_PATH: Final = "/sandbox/input"
"""Where the run's input bytes appear inside the sandbox (read-only); the program gets it as ``sys.argv[1]``."""
_DROP_UIDS: Final = range(2_000_000_000, 2_000_000_000 + 2**24)
"""Run by root, each run switches to a random uid from here: no account uses them, and each run its own."""
_INSIDE_ID: Final = 65534
"""The code's uid and gid inside a user namespace (shown as ``nobody``)."""
_PROBE_TIMEOUT_S: Final = 30.0
_READ_CHUNK: Final = 64 * 1024
_DRAIN_TIMEOUT_S: Final = 5.0
_MB: Final = 1024 * 1024
_BWRAP_DIRS: Final = ("/usr/bin", "/bin", "/usr/local/bin")
_LD_CACHE: Final = "/etc/ld.so.cache"
_TOP_LEVEL_LINKS: Final = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# Runs first in the sandbox, as the program of ``python -I -S -c BOOT UID LIMITS INPUT PROGRAM``: limits,
# then the uid switch (UID "-": none), then the real program. Nothing of the untrusted code has run yet; after
# it, nothing here can be undone from inside. Plain argv, no json: every import is paid by every run.
_BOOT: Final = r"""
import os, resource, sys
def _cascadeflow_boot():
    _, uid, limits, data, program = sys.argv
    for item in limits.split(","):
        name, value = item.split("=")
        kind = getattr(resource, name)
        hard = resource.getrlimit(kind)[1]
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(kind, (value, value))
    if uid != "-":
        os.setgroups([])
        os.setresgid(int(uid), int(uid), int(uid))
        os.setresuid(int(uid), int(uid), int(uid))
    if 0 in os.getresuid() or 0 in os.getresgid():
        raise SystemExit("sandbox: still root, refusing to run")
    sys.argv[:] = ["<sandboxed>", data]
    return compile(program, "<sandboxed>", "exec")
exec(_cascadeflow_boot(), {"__name__": "__main__", "__builtins__": __builtins__})
"""
_PROBE: Final = r"""
import json, os, sys
pids = [p for p in os.listdir("/proc") if p.isdigit()]
print(json.dumps({"uid": os.getuid(), "pids": len(pids), "input": open(sys.argv[1]).read(),
                  "environ": sorted(set(os.environ) - {"PWD", "LC_CTYPE"}), "passwd": os.path.exists("/etc/passwd")}))
"""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """What one sandboxed run may use."""

    wall_s: float = 20.0
    """Wall-clock time of the whole run; every process in the sandbox is killed after it."""
    cpu_s: int = 20
    memory_mb: int = 1024
    """Address space of each process."""
    file_mb: int = 1
    """Largest file a process may write."""
    tmp_mb: int = 16
    """Size of the private ``/tmp`` (held in memory)."""
    max_processes: int = 8
    """Processes and threads of the run together (a fork bomb stops here)."""
    max_open_files: int = 64
    max_output_bytes: int = _MB
    """Stdout the parent reads at most; a run that writes more is stopped and fails."""

    def rlimits(self) -> list[tuple[str, int]]:
        return [("RLIMIT_CPU", self.cpu_s), ("RLIMIT_AS", self.memory_mb * _MB), ("RLIMIT_FSIZE", self.file_mb * _MB),
                ("RLIMIT_NOFILE", self.max_open_files), ("RLIMIT_NPROC", self.max_processes), ("RLIMIT_CORE", 0)]


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What came out of one run: stdout (at most the cap), the exit status, and why it failed, if it did."""

    stdout: bytes
    returncode: int | None
    failure: str | None = None


def _python_paths() -> tuple[str, tuple[str, ...]]:
    """The base interpreter (not a venv's link to it) and the directories it needs: stdlib, extension
    modules, libpython. Bound at the same paths, so the interpreter finds its prefix as it does outside."""
    interpreter = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    dirs = [sysconfig.get_path("stdlib"), sysconfig.get_config_var("DESTSHARED")]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        dirs.append(sysconfig.get_config_var("LIBDIR"))
    paths = [interpreter, *(os.path.realpath(d) for d in dirs if d and os.path.isdir(d))]
    return interpreter, _outermost(paths)


def _outermost(paths: list[str]) -> tuple[str, ...]:
    """Paths not already inside ``/usr`` (bound whole) or inside another path of the list."""
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in ("/usr", *kept)):
            kept.append(path)
    return tuple(kept)


def _parents(paths: tuple[str, ...]) -> list[str]:
    """Every directory above ``paths`` except ``/`` and ``/usr``'s tree, outermost first."""
    found = {str(parent) for path in paths for parent in Path(path).parents}
    return sorted(d for d in found if d != "/" and d != "/usr" and not d.startswith("/usr/"))


def find_bwrap() -> str | None:
    found = shutil.which("bwrap")
    if found:
        return found
    return next((str(p) for d in _BWRAP_DIRS if os.access(p := Path(d) / "bwrap", os.X_OK)), None)


@dataclass(frozen=True, slots=True)
class Sandbox:
    """How to start a sandboxed Python on this machine; build it with :meth:`detect`."""

    bwrap: str
    interpreter: str
    read_only: tuple[str, ...]
    """Host paths bound read-only at the same place, besides ``/usr``."""
    privileged: bool
    """Started by root: no user namespace; the code switches to a fresh unprivileged uid instead."""

    @classmethod
    def detect(cls, setting: str = "execute") -> Sandbox:
        """The sandbox for this machine, checked by a trial run; :class:`ConfigError` naming ``setting`` when
        there is none (never a weaker fallback)."""
        if not sys.platform.startswith("linux"):
            raise ConfigError(setting, f"running model-written code needs the Linux sandbox (bubblewrap); this is "
                                       f"{sys.platform}. Turn {setting} off.")
        bwrap = find_bwrap()
        if bwrap is None:
            raise ConfigError(setting, "running model-written code needs bubblewrap ('bwrap'), which is not "
                                       "installed: apt-get install bubblewrap (or dnf/pacman install bubblewrap), "
                                       f"or turn {setting} off")
        interpreter, read_only = _python_paths()
        sandbox = cls(bwrap, interpreter, read_only, os.geteuid() == 0)
        sandbox.check(setting)
        return sandbox

    def check(self, setting: str = "execute") -> None:
        """Run a trial program; :class:`ConfigError` when the sandbox cannot start or does not isolate."""
        token = secrets.token_hex(8)
        read = _data_fd(token.encode())
        try:
            done = subprocess.run(self.command(_PROBE, SandboxLimits(wall_s=_PROBE_TIMEOUT_S), read), env={},
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_TIMEOUT_S,
                                  check=False, close_fds=True, pass_fds=(read,))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(setting, f"the code sandbox ({self.bwrap}) could not start: {exc}") from exc
        finally:
            os.close(read)
        why = _probe_problem(done, token)
        if why:
            raise ConfigError(setting, f"the code sandbox ({self.bwrap}) is not usable here: {why}. Model-written "
                                       f"code is never run without it; turn {setting} off or allow bubblewrap "
                                       "to create namespaces (see docs/sandbox.md)")

    def command(self, program: str, limits: SandboxLimits, input_fd: int) -> list[str]:
        """bwrap's argv for one run of ``program`` (Python source) with ``limits``, the bytes readable from
        ``input_fd`` appearing at :data:`INPUT_PATH` (pass that descriptor to the process)."""
        uid = str(_DROP_UIDS.start + secrets.randbelow(len(_DROP_UIDS))) if self.privileged else "-"
        rlimits = ",".join(f"{name}={value}" for name, value in limits.rlimits())
        data = ["--perms", "0444", "--ro-bind-data", str(input_fd), INPUT_PATH]
        return [self.bwrap, *self._namespaces(), *self._filesystem(limits), *data,
                "--", self.interpreter, "-I", "-S", "-c", _BOOT, uid, rlimits, INPUT_PATH, program]

    def _namespaces(self) -> list[str]:
        common = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                  "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
        if self.privileged:
            # Root keeps only what the boot code needs to give up root for good (setgroups/setresuid).
            return [*common, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return [*common, "--unshare-user", "--disable-userns", "--uid", str(_INSIDE_ID), "--gid", str(_INSIDE_ID)]

    def _filesystem(self, limits: SandboxLimits) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        for top in _TOP_LEVEL_LINKS:  # merged-/usr systems: /lib -> usr/lib; older ones: real directories
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for parent in _parents((*self.read_only, INPUT_PATH, _LD_CACHE)):  # bwrap would make them 0700
            args += ["--perms", "0755", "--dir", parent]
        args += ["--ro-bind-try", _LD_CACHE, _LD_CACHE]  # where the loader finds libraries; nothing else of /etc
        for path in self.read_only:
            args += ["--ro-bind", path, path]
        return [*args, "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_mb * _MB),
                "--tmpfs", "/tmp", "--chdir", "/tmp"]

    async def run(self, program: str, data: bytes, limits: SandboxLimits) -> SandboxResult:
        """Run ``program`` once with ``data`` readable at ``sys.argv[1]``; never raises for what it does."""
        read = _data_fd(data)
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command(program, limits, read),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                env={}, close_fds=True, pass_fds=(read,), start_new_session=True,
            )
        finally:
            os.close(read)
        assert process.stdout is not None
        try:
            async with asyncio.timeout(limits.wall_s):
                stdout = await _read_capped(process.stdout, limits.max_output_bytes)
                if stdout is not None:
                    return SandboxResult(stdout, await process.wait())
            failure = f"it wrote more than {limits.max_output_bytes} bytes"
        except TimeoutError:
            failure = f"it ran longer than {limits.wall_s:g} s"
        except BaseException:  # cancelled: nothing may outlive the caller's task
            await _stop(process, "cancelled")
            raise
        return await _stop(process, failure)


def _data_fd(data: bytes) -> int:
    """A readable descriptor holding ``data`` (bwrap copies it into the sandbox before the program starts)."""
    fd = os.memfd_create("cascadeflow-sandbox-input", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> bytes | None:
    """All of ``stream`` if it holds at most ``cap`` bytes, else None (having read at most one chunk more)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(_READ_CHUNK):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _stop(process: asyncio.subprocess.Process, why: str) -> SandboxResult:
    """Kill bwrap: its PID 1 inside dies with it (--die-with-parent), and with PID 1 every process inside.
    What is left in the pipe is read and dropped first: asyncio's ``wait()`` returns only once the pipe closed."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DRAIN_TIMEOUT_S):
            if process.stdout is not None:
                while await process.stdout.read(_READ_CHUNK):
                    pass
            await process.wait()
    return SandboxResult(b"", process.returncode, why)


def _probe_problem(done: subprocess.CompletedProcess[bytes], token: str) -> str | None:
    message = done.stderr.decode(errors="replace").strip().splitlines()
    if done.returncode != 0:
        return f"bwrap exited with {done.returncode}" + (f" ({message[-1][:300]})" if message else "")
    try:
        facts = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "the trial run printed no report"
    if facts.get("input") != token:
        return "the trial run could not read its input"
    if facts.get("uid") == 0 or facts.get("environ") or facts.get("passwd"):
        return "the trial run was not isolated (root, environment or /etc visible)"
    if not isinstance(facts.get("pids"), int) or facts["pids"] > 2:
        return "the trial run saw other processes"
    return None
