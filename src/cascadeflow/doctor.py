"""``cascadeflow doctor``: is the local llama.cpp engine sound on this machine, and if not, why and what to do.

Everything risky happens in a child process (:mod:`cascadeflow.providers.llama_probe`): a llama.cpp build that
uses instructions this CPU lacks, or kernels that crash on it (AMX in llama-cpp-python 0.3.36), kills the
process that runs it. The report names the CPU's features, the build's own system info, the features the build
uses that the CPU lacks or that are known to crash, the model files with their sha256, how far the probe got,
and one line of advice.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cascadeflow.llama_build import CRASHING_FEATURES, LLAMA_CPP_VERSION, cpu_flags, installed_tag, plan_build
from cascadeflow.providers.weights import CATALOGUE, WeightsStore

PROBE_TIMEOUT_S = 180.0
"""Loading a 1 GB model from a cold disk plus a few tokens on a busy 2-core machine stays well under this."""
PROBE_MODELS: tuple[str, ...] = ("smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
"""Catalogue models the probe may use, smallest first: the first verified one is loaded."""
STDERR_TAIL_CHARS = 800

BUILD_FEATURE_FLAGS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # a feature llama.cpp's system info reports -> the /proc/cpuinfo flags any of which provides it
    "SSE3": ("pni", "sse3"),
    "SSSE3": ("ssse3",),
    "SSE42": ("sse4_2",),
    "AVX": ("avx",),
    "AVX_VNNI": ("avx_vnni",),
    "AVX2": ("avx2",),
    "F16C": ("f16c",),
    "FMA": ("fma",),
    "BMI2": ("bmi2",),
    "AVX512": ("avx512f",),
    "AVX512_VBMI": ("avx512vbmi",),
    "AVX512_VNNI": ("avx512_vnni",),
    "AVX512_BF16": ("avx512_bf16",),
    "AMX_INT8": ("amx_int8",),
    "AMX_BF16": ("amx_bf16",),
    "AMX_TILE": ("amx_tile",),
    "NEON": ("asimd", "neon"),
    "FP16_VA": ("asimdhp",),
    "DOTPROD": ("asimddp",),
    "MATMUL_INT8": ("i8mm",),
    "SVE": ("sve",),
    "SME": ("sme",),
})
CRASHING_BUILD_FEATURES = frozenset(k for k, flags in BUILD_FEATURE_FLAGS.items() if set(flags) & CRASHING_FEATURES)


def parse_system_info(text: str) -> dict[str, bool]:
    """``"CPU : SSE3 = 1 | AVX = 1 | AMX_INT8 = 1 |"`` → ``{"SSE3": True, "AVX": True, "AMX_INT8": True}``."""
    found: dict[str, bool] = {}
    for item in text.replace("\n", "|").split("|"):
        name, sep, value = item.rpartition("=")
        if not sep:
            continue
        name = name.rpartition(":")[2].strip()
        if name:
            found[name] = value.strip() not in ("0", "")
    return found


def build_problems(features: Mapping[str, bool], flags: frozenset[str]) -> list[str]:
    """What is wrong with a build on this CPU: features known to crash, and (when the CPU's flags are known)
    features the CPU does not have."""
    problems = []
    for name, on in sorted(features.items()):
        if not on or name not in BUILD_FEATURE_FLAGS:
            continue
        if name in CRASHING_BUILD_FEATURES:
            problems.append(f"the build uses {name}, whose llama.cpp kernels are known to crash")
        elif flags and not set(BUILD_FEATURE_FLAGS[name]) & flags:
            problems.append(f"the build uses {name}, which this CPU does not have")
    return problems


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How far the child got: its stage lines, exit code (negative: killed by that signal) and stderr tail."""

    stages: Mapping[str, Mapping[str, Any]]
    returncode: int | None
    stderr_tail: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and "done" in self.stages

    @property
    def crash_signal(self) -> str | None:
        if self.returncode is None or self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    @property
    def last_stage(self) -> str:
        order = ("import", "system_info", "load", "generate", "done")
        reached = [s for s in order if s in self.stages]
        return reached[-1] if reached else "start"

    def failure(self) -> str | None:
        """One sentence on what went wrong, or None when the probe passed."""
        if self.ok:
            return None
        step = {"start": "importing llama_cpp", "import": "reading the build's system info",
                "system_info": "loading the model", "load": "generating tokens",
                "generate": "closing the model"}.get(self.last_stage, self.last_stage)
        if self.timed_out:
            return f"the probe hung while {step} (no answer within the timeout)"
        if self.crash_signal:
            return f"llama.cpp crashed with {self.crash_signal} while {step}"
        error = self.stages.get("error", {}).get("error") or self.stderr_tail.strip() or "no output"
        return f"the probe failed while {step}: {error}"


def run_probe(model_path: Path | None, *, timeout_s: float = PROBE_TIMEOUT_S,
              env: Mapping[str, str] | None = None, python: str = sys.executable) -> ProbeResult:
    """Run :mod:`cascadeflow.providers.llama_probe` in a child process and collect what it printed."""
    cmd = [python, "-m", "cascadeflow.providers.llama_probe"]
    if model_path is not None:
        cmd.append(str(model_path))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False,
                              env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return ProbeResult(_stages(out), None, "", timed_out=True)
    return ProbeResult(_stages(done.stdout), done.returncode, done.stderr[-STDERR_TAIL_CHARS:])


def _stages(stdout: str) -> dict[str, dict[str, Any]]:
    stages: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("stage"), str):
            stages[item["stage"]] = item
    return stages


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str
    path: Path
    state: str
    sha256: str


@dataclass
class DoctorReport:
    """Everything ``cascadeflow doctor`` prints; ``problems`` empty means the engine is sound here."""

    machine: str
    cpu: str
    cpu_flags: frozenset[str]
    llama_version: str | None
    installed_build: str | None
    expected_build: str
    rebuild_args: str
    models: list[ModelFile]
    probe_model: str | None
    probe: ProbeResult | None
    features: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def advice(self) -> str | None:
        """One line: what to do about the first problem."""
        if self.ok:
            return None
        if self.llama_version is None:
            return 'install the local engine: pip install "cascadeflow[local]" (see the README for build flags)'
        if self.probe_model is None and not any("build uses" in p for p in self.problems):
            return "install a model to test with: cascadeflow models install smollm2-135m"
        return (f'rebuild llama-cpp-python for this CPU: CMAKE_ARGS="{self.rebuild_args}" pip install --no-cache-dir '
                f"--force-reinstall --no-deps llama-cpp-python=={LLAMA_CPP_VERSION} (in a clone: bash "
                "scripts/bootstrap.sh local, which does this)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "machine": self.machine, "cpu": self.cpu,
            "cpu_features": sorted(f for f in self.cpu_flags if _interesting(f)),
            "llama_cpp_python": self.llama_version, "installed_build": self.installed_build,
            "expected_build": self.expected_build, "rebuild_cmake_args": self.rebuild_args,
            "build_features": self.features,
            "models": [{"name": m.name, "path": str(m.path), "state": m.state, "sha256": m.sha256}
                       for m in self.models],
            "probe_model": self.probe_model,
            "probe": None if self.probe is None else {
                "ok": self.probe.ok, "last_stage": self.probe.last_stage, "returncode": self.probe.returncode,
                "signal": self.probe.crash_signal, "stages": dict(self.probe.stages)},
            "problems": self.problems, "advice": self.advice(),
        }


_INTERESTING_PREFIXES = ("sse4", "avx", "fma", "f16c", "bmi2", "amx", "asimd", "sve", "i8mm", "neon")


def _interesting(flag: str) -> bool:
    return flag.startswith(_INTERESTING_PREFIXES)


def _cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() in ("model name", "Model", "Hardware"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _llama_version() -> str | None:
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return None


def model_files(store: WeightsStore, names: Sequence[str] = tuple(CATALOGUE), *,
                rehash: bool = False) -> list[ModelFile]:
    """Catalogue models with their file, state and sha256 (re-hashed when ``rehash``, else the verified marker's)."""
    files = []
    for name in names:
        status = store.status(name)
        state: str = status.state
        if rehash and status.path.is_file():
            state = "verified" if store.rehash(name) else "sha256 mismatch"
        files.append(ModelFile(name, status.path, state, status.spec.sha256))
    return files


def diagnose(*, model: Path | None = None, store: WeightsStore | None = None, rehash: bool = False,
             env: Mapping[str, str] | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> DoctorReport:
    """Collect the report; the probe loads ``model`` (default: the smallest verified catalogue model)."""
    store = store or WeightsStore()
    flags = cpu_flags()
    plan = plan_build(flags)
    files = model_files(store, rehash=rehash)
    if model is None:
        model = next((f.path for n in PROBE_MODELS for f in files if f.name == n and f.state == "verified"), None)
    report = DoctorReport(
        machine=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        cpu=_cpu_name(), cpu_flags=flags, llama_version=_llama_version(),
        installed_build=installed_tag(Path(sys.prefix)), expected_build=plan.tag, rebuild_args=plan.cmake_env,
        models=files, probe_model=None if model is None else str(model), probe=None,
    )
    if report.llama_version is None:
        report.problems.append("llama-cpp-python is not installed")
        return report
    report.probe = run_probe(model, timeout_s=timeout_s, env=env if env is not None else os.environ)
    info = report.probe.stages.get("system_info", {}).get("text", "")
    report.features = parse_system_info(str(info))
    report.problems.extend(build_problems(report.features, flags))
    failure = report.probe.failure()
    if failure:
        report.problems.append(failure)
    if model is None:
        report.problems.append("no verified local model to test generation with")
    return report
