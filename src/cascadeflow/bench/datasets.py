"""Loaders for recorded benchmark outputs → a common list of :class:`Record` (prompt + every model's answer,
correctness and USD cost).

* RouterBench CSVs (``sample_id, prompt, eval_name, <model>, <model>|model_response, <model>|total_cost``):
  prompts and responses are Python-literal one-element lists; NaN correctness counts as wrong.
* RouteLLM response CSVs (``prompt, <model>, <model>_response``): no costs are recorded, so each call is priced
  at list prices (:data:`LIST_PRICES`, USD per 1M tokens) with tokens estimated from characters. Prompts on
  RouteLLM's decontamination list (a ``*contaminated*.jsonl`` next to the CSV, or one you pass) are dropped.

The format is detected from the header. Exact duplicate prompts keep their first row (a replayed prompt must
have one answer per model). The data stays where it is: nothing here copies it.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeAlias

from cascadeflow.errors import ConfigError
from cascadeflow.providers.replay import RecordedAnswer, RecordedPrompt

Record: TypeAlias = RecordedPrompt
"""One prompt with every model's recorded answer (the replay provider's own record type)."""

CSV_FIELD_LIMIT: Final = 10**9  # RouterBench cells hold whole few-shot prompts: far above csv's default
CHARS_PER_TOKEN: Final = 4.0
"""OpenAI's rule of thumb for English text; used only where a recording has no token counts (RouteLLM)."""
LIST_PRICES: Final[Mapping[str, tuple[float, float]]] = MappingProxyType({
    # USD per 1M (input, output) tokens, list prices when the recordings were made.
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (0.60, 0.60),
    "gpt-4-1106-preview": (10.0, 30.0),
})
_ROUTERBENCH_COST: Final = "|total_cost"
_ROUTERBENCH_RESPONSE: Final = "|model_response"
_ROUTELLM_RESPONSE: Final = "_response"
_TRUE_WORDS: Final = frozenset({"true", "1", "1.0", "yes"})
_CONTAMINATION_GLOB: Final = "*contaminated*.jsonl"
_HASH_SPACE: Final = 2**32


@dataclass(frozen=True, slots=True)
class LoadStats:
    """What a loader kept and dropped, for the report."""

    path: str
    kept: int
    duplicates: int = 0
    contaminated: int = 0


def _literal_text(cell: str) -> str:
    """RouterBench stores text as a Python-literal one-element list; fall back to the raw cell."""
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return cell
    if isinstance(value, list | tuple) and value:
        return str(value[0])
    return str(value)


def _correct(cell: str) -> bool:
    text = cell.strip().lower()
    if text in _TRUE_WORDS:
        return True
    try:
        value = float(text)
    except ValueError:
        return False
    return not math.isnan(value) and value >= 1.0


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            return list(reader.fieldnames or ()), rows
    except OSError as exc:
        raise ConfigError("data", f"cannot read {path}: {exc}") from exc


def routerbench_models(header: Sequence[str]) -> list[str]:
    return [h[: -len(_ROUTERBENCH_COST)] for h in header if h.endswith(_ROUTERBENCH_COST)]


def load_routerbench(path: str | Path) -> tuple[list[Record], LoadStats]:
    """Records of one RouterBench CSV (USD costs as recorded)."""
    source = Path(path)
    header, rows = _read_rows(source)
    models = routerbench_models(header)
    if not models or "prompt" not in header:
        raise ConfigError("data", f"{source} is not a RouterBench CSV (no '<model>|total_cost' columns)")
    records: list[Record] = []
    for i, row in enumerate(rows):
        answers = {
            m: RecordedAnswer(
                answer=_literal_text(row.get(m + _ROUTERBENCH_RESPONSE, "")),
                cost_usd=float(row.get(m + _ROUTERBENCH_COST) or 0.0),
                correct=_correct(row.get(m, "")),
            )
            for m in models
        }
        prompt_id = row.get("sample_id") or f"{source.stem}.{i}"
        records.append(RecordedPrompt(prompt_id, _literal_text(row["prompt"]), answers, row.get("eval_name", "")))
    kept, duplicates = _dedupe(records)
    return kept, LoadStats(str(source), len(kept), duplicates=duplicates)


def _estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def _list_price_answer(model: str, prompt: str, answer: str, correct: bool) -> RecordedAnswer:
    price = LIST_PRICES.get(model)
    if price is None:
        raise ConfigError("data", f"no list price for {model!r}; known: {sorted(LIST_PRICES)}")
    tokens_in, tokens_out = _estimate_tokens(prompt), _estimate_tokens(answer)
    cost = (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000
    return RecordedAnswer(answer, cost, correct, tokens_in, tokens_out)


def find_contamination_list(path: Path) -> Path | None:
    """RouteLLM's decontamination list next to the data file, if there is one."""
    found = sorted(path.parent.glob(_CONTAMINATION_GLOB))
    return found[0] if found else None


def read_contaminated(path: str | Path) -> frozenset[str]:
    """The ``eval_prompt`` of every line of a RouteLLM contamination list."""
    prompts: set[str] = set()
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                prompts.add(str(json.loads(line)["eval_prompt"]))
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError("exclude", f"cannot read contamination list {path}: {exc!r}") from exc
    return frozenset(prompts)


def load_routellm(
    path: str | Path, *, contaminated: str | Path | None = None, dataset: str = "gsm8k"
) -> tuple[list[Record], LoadStats]:
    """Records of one RouteLLM responses CSV, priced at list prices, contaminated prompts dropped."""
    source = Path(path)
    header, rows = _read_rows(source)
    models = [h[: -len(_ROUTELLM_RESPONSE)] for h in header if h.endswith(_ROUTELLM_RESPONSE)]
    if not models or "prompt" not in header:
        raise ConfigError("data", f"{source} is not a RouteLLM responses CSV (no '<model>_response' columns)")
    exclusion = Path(contaminated) if contaminated else find_contamination_list(source)
    excluded = read_contaminated(exclusion) if exclusion else frozenset()
    records: list[Record] = []
    dropped = 0
    for row in rows:
        prompt = row["prompt"]
        if prompt in excluded:
            dropped += 1
            continue
        answers = {
            m: _list_price_answer(m, prompt, row[m + _ROUTELLM_RESPONSE], _correct(row.get(m, ""))) for m in models
        }
        digest = hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:12]
        records.append(RecordedPrompt(f"{dataset}.{digest}", prompt, answers, dataset))
    kept, duplicates = _dedupe(records)
    return kept, LoadStats(str(source), len(kept), duplicates=duplicates, contaminated=dropped)


def _dedupe(records: Sequence[Record]) -> tuple[list[Record], int]:
    """Keep the first record of each prompt text and id; return them and how many were dropped."""
    seen_text: set[str] = set()
    seen_id: set[str] = set()
    kept: list[Record] = []
    for record in records:
        if record.prompt in seen_text or record.prompt_id in seen_id:
            continue
        seen_text.add(record.prompt)
        seen_id.add(record.prompt_id)
        kept.append(record)
    return kept, len(records) - len(kept)


def load_records(
    paths: Sequence[str | Path], *, contaminated: str | Path | None = None
) -> tuple[list[Record], list[LoadStats]]:
    """Load and concatenate files of either format (detected from the header)."""
    records: list[Record] = []
    stats: list[LoadStats] = []
    for path in paths:
        header = _read_header(Path(path))
        if routerbench_models(header):
            loaded, stat = load_routerbench(path)
        elif any(h.endswith(_ROUTELLM_RESPONSE) for h in header):
            loaded, stat = load_routellm(path, contaminated=contaminated)
        else:
            raise ConfigError("data", f"{path}: unknown format (neither RouterBench nor RouteLLM columns)")
        records.extend(loaded)
        stats.append(stat)
    if not records:
        raise ConfigError("data", "no records loaded")
    kept, _ = _dedupe(records)
    return kept, stats


def _read_header(path: Path) -> list[str]:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except OSError as exc:
        raise ConfigError("data", f"cannot read {path}: {exc}") from exc


def split_records(
    records: Sequence[Record], *, holdout: float, part: str, seed: int = 0
) -> list[Record]:
    """A stable train/test split by hashing prompt ids: ``part="test"`` keeps the held-out fraction."""
    if not 0.0 < holdout < 1.0:
        raise ConfigError("holdout", f"must be between 0 and 1, got {holdout!r}")
    if part not in ("train", "test"):
        raise ConfigError("part", f"must be 'train' or 'test', got {part!r}")
    out = []
    for record in records:
        digest = hashlib.sha256(f"{seed}:{record.prompt_id}".encode()).digest()
        in_test = int.from_bytes(digest[:4], "big") / _HASH_SPACE < holdout
        if in_test == (part == "test"):
            out.append(record)
    return out


def common_models(records: Sequence[Record]) -> list[str]:
    """Models answering every record, in first-record order."""
    if not records:
        return []
    shared = set(records[0].answers)
    for record in records[1:]:
        shared &= set(record.answers)
    return [m for m in records[0].answers if m in shared]
