"""A llama.cpp build that runs on the CPU it was built on, and an install pip's wheel cache cannot undo.

Why this exists: llama-cpp-python ships only a source distribution on PyPI, and its default build is
``-march=native``. On Intel CPUs with AMX (Sapphire Rapids and newer) that native build enables llama.cpp's AMX
kernels, which crash the process (SIGSEGV) on the first generation. pip's wheel cache then keys the built wheel
by the sdist alone, not by ``CMAKE_ARGS``, so a machine that built the crashing wheel once keeps reinstalling it.

So we build with ``GGML_NATIVE=OFF`` and switch on, one by one, the instruction sets this CPU reports
(``/proc/cpuinfo``) — never AMX — into a wheel directory of our own, named after those flags, with pip's cache
bypassed; then install that exact wheel. Standard library only: ``scripts/bootstrap.sh`` runs this file before
cascadeflow itself is installed (``python -P src/cascadeflow/llama_build.py install``; ``-P`` keeps this folder
off ``sys.path``, where our ``types.py`` would shadow the standard library's).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no concurrent-bootstrap lock
    fcntl = None  # type: ignore[assignment]

LLAMA_CPP_VERSION = "0.3.36"
"""The llama-cpp-python release cascadeflow pins (pyproject's ``local`` extra says the same; a test checks)."""

WHEEL_CACHE_ENV = "CASCADEFLOW_WHEEL_DIR"
DEFAULT_WHEEL_DIR = Path("~/.cache/cascadeflow/wheels")
STAMP_NAME = ".cascadeflow-llama-build"
"""Written into the environment's prefix after a verified install: which build tag is installed there."""

CRASHING_FEATURES: frozenset[str] = frozenset({"amx_tile", "amx_int8", "amx_bf16"})
"""CPU features whose llama.cpp kernels are known to crash (0.3.36, AMX): never compiled in."""

X86_OPTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # GGML option -> every /proc/cpuinfo flag the compiler flags behind it need (ggml-cpu/CMakeLists.txt)
    "GGML_SSE42": ("sse4_2",),
    "GGML_AVX": ("avx",),
    "GGML_AVX2": ("avx2",),
    "GGML_BMI2": ("bmi2",),
    "GGML_FMA": ("fma",),
    "GGML_F16C": ("f16c",),
    "GGML_AVX_VNNI": ("avx_vnni",),
    "GGML_AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "GGML_AVX512_VBMI": ("avx512f", "avx512vbmi"),
    "GGML_AVX512_VNNI": ("avx512f", "avx512_vnni"),
    "GGML_AVX512_BF16": ("avx512f", "avx512_bf16"),
})
ALWAYS_OFF: tuple[str, ...] = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
BASE_ARGS: tuple[str, ...] = ("-DGGML_NATIVE=OFF",)
PORTABLE_X86_FLAGS: frozenset[str] = frozenset({"sse4_2", "avx", "avx2", "bmi2", "fma", "f16c"})
"""x86-64-v3 (Haswell, 2013+): what ``print-args --portable`` targets when the build machine is not the one
that will run it (a container image, a shared wheelhouse)."""


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """What to build: the pinned version and CMake arguments for this CPU, and a tag naming that combination."""

    version: str
    machine: str
    cmake_args: tuple[str, ...]

    @property
    def tag(self) -> str:
        text = "\n".join((self.version, self.machine, *self.cmake_args))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def cmake_env(self) -> str:
        return " ".join(self.cmake_args)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (x86 ``flags`` or ARM ``Features`` line); empty where there is no cpuinfo."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def is_x86(machine: str) -> bool:
    return machine.lower() in ("x86_64", "amd64", "i686", "i386")


def plan_build(flags: Iterable[str], machine: str | None = None, version: str = LLAMA_CPP_VERSION) -> BuildPlan:
    """CMake arguments enabling exactly the instruction sets ``flags`` has, minus the crashing ones.

    Non-x86 machines get the compiler's portable baseline (``GGML_NATIVE=OFF`` alone).
    """
    machine = machine or platform.machine()
    have = frozenset(flags) - CRASHING_FEATURES
    args = list(BASE_ARGS)
    if is_x86(machine):
        for option, needs in X86_OPTIONS.items():
            args.append(f"-D{option}={'ON' if have.issuperset(needs) else 'OFF'}")
        args.extend(f"-D{option}=OFF" for option in ALWAYS_OFF)
    return BuildPlan(version, machine, tuple(args))


def wheel_dir(plan: BuildPlan) -> Path:
    base = Path(os.environ.get(WHEEL_CACHE_ENV) or DEFAULT_WHEEL_DIR).expanduser()
    return base / f"llama-cpp-python-{plan.version}-{plan.tag}"


def _pip(python: str, *args: str, env: Mapping[str, str] | None = None) -> None:
    cmd = [python, "-m", "pip", *args, "--disable-pip-version-check"]
    done = subprocess.run(cmd, env=dict(env) if env is not None else None, check=False)
    if done.returncode != 0:
        raise SystemExit(f"llama_build: `{' '.join(cmd)}` failed with exit {done.returncode}")


def build_wheel(plan: BuildPlan, python: str = sys.executable) -> Path:
    """The wheel for ``plan`` from our own directory, built there (pip's cache bypassed) if missing.

    A lock file serialises concurrent bootstraps: the second one waits and then reuses the first one's wheel.
    """
    target = wheel_dir(plan)
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(plan, target, python)


def _build_locked(plan: BuildPlan, target: Path, python: str) -> Path:
    found = sorted(target.glob("llama_cpp_python-*.whl"))
    if found:
        return found[-1]
    print(f"llama_build: building llama-cpp-python {plan.version} with {plan.cmake_env} "
          "(~8 min on 2 cores, once per CPU flag set)", file=sys.stderr)
    env = {**os.environ, "CMAKE_ARGS": plan.cmake_env, "FORCE_CMAKE": "1"}
    _pip(python, "wheel", "--no-cache-dir", "--no-deps", "--no-binary", "llama-cpp-python",
         "--wheel-dir", str(target), f"llama-cpp-python=={plan.version}", env=env)
    found = sorted(target.glob("llama_cpp_python-*.whl"))
    if not found:
        raise SystemExit(f"llama_build: pip reported success but left no wheel in {target}")
    return found[-1]


def installed_tag(prefix: Path) -> str | None:
    try:
        return (prefix / STAMP_NAME).read_text().strip() or None
    except OSError:
        return None


def install(plan: BuildPlan, python: str = sys.executable, prefix: Path | None = None) -> Path:
    """Install ``plan``'s wheel into ``python``'s environment unless that exact build is already there.

    ``--force-reinstall --no-deps --no-cache-dir`` replaces whatever llama-cpp-python was there (a native build
    from pip's cache included) with ours; the stamp records the tag so later runs skip the work.
    """
    prefix = prefix or Path(sys.prefix)
    wheel = build_wheel(plan, python)
    if installed_tag(prefix) != plan.tag:
        _pip(python, "install", "--quiet", "--no-cache-dir", "--force-reinstall", "--no-deps", str(wheel))
        (prefix / STAMP_NAME).write_text(plan.tag + "\n")
    return wheel


def _main(argv: Sequence[str]) -> int:
    command = argv[0] if argv else "print-args"
    flags = PORTABLE_X86_FLAGS if "--portable" in argv else cpu_flags()
    plan = plan_build(flags)
    if command == "print-args":
        print(plan.cmake_env)
    elif command == "tag":
        print(plan.tag)
    elif command == "install":
        print(install(plan))
    else:
        print("usage: llama_build.py [print-args|tag|install] [--portable]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
