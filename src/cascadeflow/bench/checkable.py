"""Questions whose answers can be checked mechanically: the demo's "right?" column and the local benchmarks.

Three kinds, each with its own rule:
  fact   — one of the expected patterns (regular expressions) matches the answer, lower-cased with spacing
           collapsed;
  number — the answer's final number is one of the expected values (thousands separators ignored);
  code   — the answer defines the asked-for function and it returns the expected values on probe inputs,
           run by a :data:`CodeRunner` (the sandbox, never this process: the code is model-written).
A code answer that cannot be run (no runner on this machine) is *unchecked* (``None``), never counted right.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast

from cascadeflow.cascade.quality.self_consistency import word_f1
from cascadeflow.errors import ConfigError

Kind: TypeAlias = Literal["fact", "number", "code"]
CodeRunner: TypeAlias = Callable[[str, str, Sequence[tuple[Any, ...]]], "list[Any] | None"]
"""``(answer code, entry function, probe argument tuples) -> return values`` (an exception counts as ``None``),
or None when the code could not be run at all."""

LOCAL_SET: Final = Path(__file__).with_name("data") / "local_checkable.jsonl"
"""~100 labelled questions for the local pair: short facts, arithmetic, GSM8K word problems (questions GPT-4
answered right in RouteLLM's recordings), small code tasks; ``group`` is "simple" or "hard"."""
_KINDS: Final = ("fact", "number", "code")

TEXT_F1_AGREE = 0.5
"""Two fact answers sharing half their words say the same thing in different words."""

_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_FENCE_RE = re.compile(r"```[\w+-]*\n(.*?)(?:```|\Z)", re.S)


@dataclass(frozen=True, slots=True)
class CheckableQuery:
    """A question and how to tell a right answer: ``expect`` holds patterns (fact), numbers (number) or the
    entry function's return values on ``probes`` (code); ``shown`` is the expected answer as a person reads it."""

    text: str
    kind: Kind
    expect: tuple[Any, ...]
    entry: str = ""
    probes: tuple[tuple[Any, ...], ...] = ()
    group: str = ""
    shown: str = ""


def last_number(text: str) -> float | None:
    found = _NUMBER_RE.findall(re.sub(r"(?<=\d),(?=\d{3})", "", text))
    return float(found[-1]) if found else None


def code_block(answer: str, entry: str) -> str | None:
    """The fenced block that defines ``entry`` (or the whole answer when it is bare code defining it)."""
    blocks = _FENCE_RE.findall(answer) or [answer]
    return next((b for b in blocks if re.search(rf"\bdef\s+{re.escape(entry)}\s*\(", b)), None)


def run_answer(query: CheckableQuery, answer: str, runner: CodeRunner | None) -> list[Any] | None:
    code = code_block(answer, query.entry)
    if code is None or runner is None:
        return None
    return runner(code, query.entry, query.probes)


def is_correct(query: CheckableQuery, answer: str, runner: CodeRunner | None = None) -> bool | None:
    """True/False by the query's rule; None when a code answer could not be run here."""
    if query.kind == "number":
        found = last_number(answer)
        return found is not None and any(abs(found - float(e)) < 1e-9 for e in query.expect)
    if query.kind == "code":
        if code_block(answer, query.entry) is None:
            return False  # no function of that name: wrong whatever a runner would say
        outputs = run_answer(query, answer, runner)
        return None if outputs is None else list(outputs) == list(query.expect)
    flat = " ".join(answer.lower().split())
    return any(re.search(str(e), flat) for e in query.expect)


def agree(query: CheckableQuery, a: str, b: str, runner: CodeRunner | None = None) -> bool:
    """Whether two answers say the same by the query's rule (code: same return values on the probes)."""
    if query.kind == "number":
        na, nb = last_number(a), last_number(b)
        return na is not None and na == nb
    if query.kind == "code":
        ra, rb = run_answer(query, a, runner), run_answer(query, b, runner)
        if ra is not None and rb is not None:
            return ra == rb
    return " ".join(a.lower().split()) == " ".join(b.lower().split()) or word_f1(a, b) >= TEXT_F1_AGREE


def _query(row: Any, where: str) -> CheckableQuery:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str) or row.get("kind") not in _KINDS:
        raise ConfigError(where, "needs a 'text' and a 'kind' of fact, number or code")
    expect = row.get("expect")
    if not isinstance(expect, list) or not expect:
        raise ConfigError(f"{where}.expect", "must be a non-empty list")
    probes = row.get("probes", [])
    if row["kind"] == "code" and (not row.get("entry") or not isinstance(probes, list) or len(probes) != len(expect)):
        raise ConfigError(f"{where}.probes", "a code question needs an entry function and one probe per expected value")
    return CheckableQuery(row["text"], cast(Kind, row["kind"]), tuple(expect), str(row.get("entry", "")),
                          tuple(tuple(p) for p in probes), str(row.get("group", "")), str(row.get("shown", "")))


def load_checkable(path: str | Path = LOCAL_SET) -> tuple[CheckableQuery, ...]:
    """The labelled questions of a JSON-lines file (default: the local set shipped with the package)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        rows = [(n, json.loads(line)) for n, line in enumerate(lines, 1) if line.strip()]
    except (OSError, ValueError) as exc:
        raise ConfigError("data", f"cannot read checkable questions from {path}: {exc}") from exc
    return tuple(_query(row, f"{Path(path).name}:{n}") for n, row in rows)
