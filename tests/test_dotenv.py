"""The .env file next to the app: syntax, precedence (the real environment wins), and where it is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig
from cascadeflow.dotenv import load_dotenv, parse_dotenv, read_dotenv
from cascadeflow.errors import ConfigError


def test_syntax() -> None:
    text = """# comment
export OPENAI_API_KEY=sk-abc   # trailing comment
QUOTED="a \\"b\\" #c\\nline"
SINGLE='raw \\n #kept'
EMPTY=
SPACED = value with spaces
"""
    assert parse_dotenv(text) == {"OPENAI_API_KEY": "sk-abc", "QUOTED": 'a "b" #c\nline', "SINGLE": "raw \\n #kept",
                                  "EMPTY": "", "SPACED": "value with spaces"}


@pytest.mark.parametrize("line", ["NOEQUALS", "1BAD=x", 'OPEN="never closed', "X='a' trailing"])
def test_malformed_lines_name_the_line_but_never_the_value(line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dotenv(f"OK=1\n{line}\n", source="app/.env")
    assert info.value.field == "app/.env:2" and "never closed" not in str(info.value)


def test_real_environment_wins_and_only_missing_names_are_set(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CF_TEST_A=from-file\nCF_TEST_B=from-file\n")
    for name in ("CF_TEST_A", "CF_TEST_B"):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)  # restored (absent) after the test, whatever load_dotenv sets
    monkeypatch.setenv("CF_TEST_A", "from-env")
    assert load_dotenv(tmp_path / ".env") == {"CF_TEST_B": "from-file"}
    assert os.environ["CF_TEST_A"] == "from-env" and os.environ["CF_TEST_B"] == "from-file"
    target: dict[str, str] = {"CF_TEST_B": ""}
    assert load_dotenv(tmp_path / ".env", environ=target) == {"CF_TEST_A": "from-file"}  # "" counts as set


def test_an_agent_reads_the_env_file_in_the_working_directory(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CF_TEST_KEY=sk-from-dotenv\nCASCADEFLOW_MODELS=openai:small@0.001\n")
    for name in ("CF_TEST_KEY", "CASCADEFLOW_MODELS"):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    assert read_dotenv()["CF_TEST_KEY"] == "sk-from-dotenv"
    fake = {"small": FunctionProvider(lambda r: "ok", model="small")}
    agent = CascadeAgent.from_env(providers=fake)  # CASCADEFLOW_MODELS came from the file
    assert [m.name for m in agent.models] == ["small"] and os.environ["CF_TEST_KEY"] == "sk-from-dotenv"
    monkeypatch.delenv("CF_TEST_KEY")
    CascadeAgent(models=[ModelConfig(name="small", cost=0.001)], providers=fake, env_file=None)
    assert "CF_TEST_KEY" not in os.environ  # env_file=None reads nothing
    with pytest.raises(ConfigError, match="env_file"):
        CascadeAgent(models=[ModelConfig(name="small", cost=0.001)], providers=fake, env_file=3)  # type: ignore[arg-type]
