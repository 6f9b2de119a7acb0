"""``cascadeflow doctor``: the real build passes, fake broken engines (in a child process) are diagnosed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cascadeflow.cli import doctor_cmd
from cascadeflow.doctor import build_problems, diagnose, parse_system_info, run_probe
from cascadeflow.llama_build import cpu_flags
from cascadeflow.providers.weights import WeightsStore

SRC = Path(__file__).resolve().parents[2] / "src"
SYSTEM_INFO = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | "


def test_parse_system_info_reads_every_feature() -> None:
    features = parse_system_info(SYSTEM_INFO + "AMX_INT8 = 1 | AVX512 = 0 |")
    assert features["AVX2"] and features["AMX_INT8"] and features["LLAMAFILE"]
    assert features["AVX512"] is False


def test_build_problems_names_crashing_and_missing_features() -> None:
    cpu = frozenset({"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"})
    assert build_problems(parse_system_info(SYSTEM_INFO), cpu) == []
    amx = build_problems(parse_system_info(SYSTEM_INFO + "AMX_INT8 = 1 |"), cpu | {"amx_int8"})
    assert amx == ["the build uses AMX_INT8, whose llama.cpp kernels are known to crash"]
    missing = build_problems(parse_system_info(SYSTEM_INFO + "AVX512 = 1 |"), cpu)
    assert missing == ["the build uses AVX512, which this CPU does not have"]
    assert build_problems(parse_system_info(SYSTEM_INFO + "AVX512 = 1 |"), frozenset()) == []  # CPU unknown


FAKE_ENGINE = '''
import os, signal
__version__ = "0.0-fake"
MODE = os.environ["FAKE_LLAMA_MODE"]
def llama_print_system_info():
    extra = "AMX_INT8 = 1 | " if MODE == "amx" else ""
    return ("CPU : SSE3 = 1 | AVX = 1 | " + extra).encode()
class Llama:
    def __init__(self, model_path, **kw):
        if MODE == "load-error":
            raise ValueError(f"Failed to load model from file: {model_path}")
    def create_completion(self, prompt, **kw):
        if MODE in ("segfault", "amx"):
            os.kill(os.getpid(), signal.SIGSEGV)
        return {"choices": [{"text": " Paris."}], "usage": {"completion_tokens": 2}}
    def close(self):
        pass
'''


@pytest.fixture
def fake_engine(tmp_path: Path) -> dict[str, str]:
    """Environment for a child process whose ``import llama_cpp`` finds a fake engine."""
    package = tmp_path / "fake" / "llama_cpp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_ENGINE)
    return {**os.environ, "PYTHONPATH": f"{package.parent}{os.pathsep}{SRC}"}


def _model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_a_segfaulting_engine_is_reported_with_the_stage_and_advice(fake_engine: dict[str, str],
                                                                     tmp_path: Path) -> None:
    report = diagnose(model=_model(tmp_path), store=WeightsStore(tmp_path / "models"),
                      env={**fake_engine, "FAKE_LLAMA_MODE": "segfault"})
    assert not report.ok
    assert report.probe is not None and report.probe.crash_signal == "SIGSEGV"
    assert "llama.cpp crashed with SIGSEGV while generating tokens" in report.problems
    advice = report.advice() or ""
    assert "CMAKE_ARGS=" in advice and "-DGGML_NATIVE=OFF" in advice and "--no-cache-dir" in advice


def test_an_amx_build_is_flagged_even_before_it_crashes(fake_engine: dict[str, str], tmp_path: Path) -> None:
    report = diagnose(model=_model(tmp_path), store=WeightsStore(tmp_path / "models"),
                      env={**fake_engine, "FAKE_LLAMA_MODE": "amx"})
    assert "the build uses AMX_INT8, whose llama.cpp kernels are known to crash" in report.problems
    assert report.to_dict()["probe"]["signal"] == "SIGSEGV"


def test_a_model_that_does_not_load_is_a_readable_failure(fake_engine: dict[str, str], tmp_path: Path) -> None:
    probe = run_probe(_model(tmp_path), env={**fake_engine, "FAKE_LLAMA_MODE": "load-error"})
    assert not probe.ok and probe.crash_signal is None
    assert (probe.failure() or "").startswith("the probe failed while loading the model: ValueError: Failed to load")


def test_a_healthy_fake_engine_passes(fake_engine: dict[str, str], tmp_path: Path) -> None:
    report = diagnose(model=_model(tmp_path), store=WeightsStore(tmp_path / "models"),
                      env={**fake_engine, "FAKE_LLAMA_MODE": "ok"})
    assert report.probe is not None and report.probe.ok, report.problems
    assert report.probe.stages["generate"]["text"] == " Paris."


@pytest.mark.local_model
def test_the_real_build_suits_this_cpu_and_generates(smollm2_store: WeightsStore) -> None:
    """Fails on any machine whose llama.cpp build uses an instruction set the CPU lacks, or AMX."""
    report = diagnose(model=smollm2_store.path_for("smollm2-135m"), store=smollm2_store)
    assert report.problems == []
    assert build_problems(report.features, cpu_flags()) == []
    assert report.features.get("AVX2") == ("avx2" in cpu_flags()) or not sys.platform.startswith("linux")
    assert report.probe is not None and report.probe.stages["generate"]["tokens"] > 0


@pytest.mark.local_model
def test_doctor_command_exits_0_on_the_real_build(smollm2_store: WeightsStore) -> None:
    app = typer.Typer()
    doctor_cmd.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from collapsing the app into doctor
    model = str(smollm2_store.path_for("smollm2-135m"))
    done = CliRunner().invoke(app, ["doctor", "--model", model])
    assert done.exit_code == 0, done.output
    assert "loads a model and generates" in done.output
    quiet = CliRunner().invoke(app, ["doctor", "--model", model, "--quiet"])
    assert quiet.exit_code == 0 and quiet.output.count("\n") == 1


def test_doctor_command_exits_1_with_advice_on_a_crashing_engine(
    fake_engine: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**fake_engine, "FAKE_LLAMA_MODE": "segfault"}.items():
        monkeypatch.setenv(key, value)
    app = typer.Typer()
    doctor_cmd.register(app)
    app.command("noop")(lambda: None)
    done = CliRunner().invoke(app, ["doctor", "--model", str(_model(tmp_path))], env={"COLUMNS": "200"})
    assert done.exit_code == 1
    assert "SIGSEGV" in done.output and "advice:" in done.output
