"""The portable llama.cpp build: flags from the CPU (never AMX), our own wheel dir, an install pip's cache
can't undo."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from cascadeflow import llama_build
from cascadeflow.llama_build import (
    CRASHING_FEATURES,
    LLAMA_CPP_VERSION,
    STAMP_NAME,
    BuildPlan,
    cpu_flags,
    install,
    plan_build,
    wheel_dir,
)

ROOT = Path(__file__).resolve().parents[2]
HASWELL = {"sse4_2", "avx", "avx2", "bmi2", "fma", "f16c"}
SAPPHIRE_RAPIDS = HASWELL | {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512vbmi",
                             "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"}


def _options(plan: BuildPlan) -> dict[str, str]:
    return dict(arg.removeprefix("-D").split("=", 1) for arg in plan.cmake_args)


def test_the_pinned_version_is_the_one_pyproject_installs() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"llama-cpp-python=={LLAMA_CPP_VERSION}" in extras["local"]
    assert f"llama-cpp-python[server]=={LLAMA_CPP_VERSION}" in extras["server-tests"]


def test_an_amx_cpu_gets_avx512_but_never_amx() -> None:
    options = _options(plan_build(SAPPHIRE_RAPIDS, "x86_64"))
    assert options["GGML_NATIVE"] == "OFF"
    assert options["GGML_AVX512"] == options["GGML_AVX512_VNNI"] == options["GGML_AVX512_BF16"] == "ON"
    assert options["GGML_AMX_TILE"] == options["GGML_AMX_INT8"] == options["GGML_AMX_BF16"] == "OFF"
    assert CRASHING_FEATURES <= SAPPHIRE_RAPIDS


def test_only_the_instruction_sets_the_cpu_has_are_enabled() -> None:
    options = _options(plan_build(HASWELL, "x86_64"))
    assert all(options[o] == "ON" for o in ("GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2"))
    assert all(options[o] == "OFF" for o in ("GGML_AVX512", "GGML_AVX_VNNI", "GGML_AVX512_VBMI"))
    partial = _options(plan_build(HASWELL | {"avx512f"}, "x86_64"))  # AVX512 needs F, CD, VL, DQ and BW
    assert partial["GGML_AVX512"] == "OFF"
    old = _options(plan_build({"sse4_2", "avx"}, "x86_64"))
    assert old["GGML_AVX"] == "ON" and old["GGML_AVX2"] == "OFF" and old["GGML_FMA"] == "OFF"


def test_arm_gets_the_portable_baseline_and_tags_differ_per_flag_set() -> None:
    assert plan_build({"asimd", "sve"}, "aarch64").cmake_args == ("-DGGML_NATIVE=OFF",)
    tags = {plan_build(HASWELL, "x86_64").tag, plan_build(SAPPHIRE_RAPIDS, "x86_64").tag,
            plan_build(HASWELL, "x86_64", version="0.0.1").tag}
    assert len(tags) == 3
    assert plan_build(HASWELL, "x86_64").tag == plan_build(set(HASWELL), "x86_64").tag  # stable


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu avx2 amx_int8\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == frozenset({"fpu", "avx2", "amx_int8"})
    assert cpu_flags(tmp_path / "missing") == frozenset()


FAKE_PYTHON = """#!/bin/sh
# Stands in for "python -m pip ...": records each call; "wheel" leaves a wheel in --wheel-dir.
echo "CMAKE_ARGS=$CMAKE_ARGS ARGS=$*" >> "$FAKE_PIP_LOG"
if [ "$3" = "wheel" ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = "--wheel-dir" ]; then touch "$2/llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"; fi
    shift
  done
fi
"""


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    script = tmp_path / "python"
    script.write_text(FAKE_PYTHON)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "pip.log"
    monkeypatch.setenv("FAKE_PIP_LOG", str(log))
    monkeypatch.setenv(llama_build.WHEEL_CACHE_ENV, str(tmp_path / "wheels"))
    return str(script), log


def test_install_builds_once_without_pips_cache_and_forces_our_wheel_in(
    fake_python: tuple[str, Path], tmp_path: Path
) -> None:
    python, log = fake_python
    prefix = tmp_path / "venv"
    prefix.mkdir()
    plan = plan_build(SAPPHIRE_RAPIDS, "x86_64")
    wheel = install(plan, python, prefix)
    assert wheel.parent == wheel_dir(plan) and wheel.parent.parent == tmp_path / "wheels"
    build, inst = log.read_text().splitlines()
    assert "wheel --no-cache-dir --no-deps --no-binary llama-cpp-python" in build
    assert "-DGGML_AMX_INT8=OFF" in build and "-DGGML_NATIVE=OFF" in build
    assert "install --quiet --no-cache-dir --force-reinstall --no-deps" in inst and str(wheel) in inst
    assert (prefix / STAMP_NAME).read_text().strip() == plan.tag
    install(plan, python, prefix)  # same build already installed: nothing is built or installed again
    assert len(log.read_text().splitlines()) == 2
    other = plan_build(HASWELL, "x86_64")  # another CPU: its own wheel, and the environment is switched
    install(other, python, prefix)
    assert len(log.read_text().splitlines()) == 4
    assert (prefix / STAMP_NAME).read_text().strip() == other.tag


def test_the_project_environment_holds_the_build_for_this_cpu() -> None:
    """Bootstrap installs our portable build; a llama-cpp-python from elsewhere (pip's cache) would be caught."""
    pytest.importorskip("llama_cpp")
    import sys

    tag = llama_build.installed_tag(Path(sys.prefix))
    if tag is None and os.environ.get("CI") != "true":
        pytest.skip("llama-cpp-python was not installed by scripts/bootstrap.sh in this environment")
    assert tag == plan_build(cpu_flags()).tag
