"""Score a personal-data detector on the labelled set ``data/pii_labelled.jsonl``.

Each line is ``{"text": ..., "spans": [{"kind": ..., "text": <exact substring>}], "note": ...}``. Spans are
given as substrings so a reviewer can read the file without counting characters; :func:`resolve_spans` turns
them into offsets (a substring listed twice means its first two occurrences) and refuses one that is not in
the text, so a typo fails loudly instead of silently lowering recall.

Scoring is by overlap, per kind: a predicted span is correct when it overlaps a gold span of the same kind, and
a gold span is found when some prediction of its kind overlaps it. Overlap (not exact boundaries) because the
policies act on the whole message — a phone number redacted without its ``+44`` prefix is still redacted — and
because annotators and rules legitimately disagree on where "diagnosed with type 2 diabetes" starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cascadeflow.errors import ConfigError

DEFAULT_DATA = Path(__file__).parent / "data" / "pii_labelled.jsonl"


class Located(Protocol):
    """Anything with a kind and character offsets (``cascadeflow.policies.pii.Finding`` is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled or predicted piece of personal data: ``text[start:end]`` is of ``kind``."""

    kind: str
    start: int
    end: int

    def overlaps(self, other: Located) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled text; no spans means the text holds no personal data of any kind."""

    text: str
    spans: tuple[Span, ...]
    note: str = ""


def resolve_spans(text: str, raw: Iterable[Mapping[str, str]], where: str = "spans") -> tuple[Span, ...]:
    """Offsets for substring-labelled spans; :class:`ConfigError` naming ``where`` if one is not in ``text``."""
    spans: list[Span] = []
    for item in raw:
        kind, needle = item.get("kind"), item.get("text")
        if not isinstance(kind, str) or not isinstance(needle, str) or not needle:
            raise ConfigError(where, f"a span needs a 'kind' and a non-empty 'text', got {item!r}")
        start = text.find(needle)
        while start >= 0 and any(s.start == start for s in spans):
            start = text.find(needle, start + 1)
        if start < 0:
            raise ConfigError(where, f"span text {needle!r} ({kind}) is not in the text {text!r}")
        spans.append(Span(kind, start, start + len(needle)))
    return tuple(sorted(spans, key=lambda s: s.start))


def load_cases(path: Path = DEFAULT_DATA, kinds: Sequence[str] | None = None) -> list[Case]:
    """Read the JSONL set; with ``kinds``, a span of any other kind is an error (catches a misspelt kind)."""
    cases: list[Case] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(where, f"not JSON ({exc.msg})") from exc
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text:
            raise ConfigError(where, "each line needs a non-empty 'text'")
        spans = resolve_spans(text, record.get("spans", []), where)
        unknown = sorted({s.kind for s in spans} - set(kinds)) if kinds is not None else []
        if unknown:
            raise ConfigError(where, f"unknown kind(s) {unknown}; known: {list(kinds or ())}")
        cases.append(Case(text, spans, str(record.get("note", ""))))
    return cases


@dataclass(frozen=True, slots=True)
class Error:
    """A miss (gold span nobody of its kind found) or a false alarm (prediction overlapping no gold of its kind).

    ``other`` is the kind on the other side when the span was there but labelled differently, else ``""``."""

    what: str  # "miss" | "false_alarm"
    kind: str
    snippet: str
    text: str
    other: str = ""


@dataclass
class KindScore:
    """Counts for one kind: gold spans (support) and how many were found; predictions and how many were right."""

    support: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: KindScore) -> None:
        self.support += other.support
        self.found += other.found
        self.predicted += other.predicted
        self.correct += other.correct

    def to_json(self) -> dict[str, float | int]:
        return {"support": self.support, "tp": self.found, "predicted": self.predicted, "correct": self.correct,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Report:
    """Scores per kind, overall (micro: pooled counts), and every error for review."""

    per_kind: dict[str, KindScore] = field(default_factory=dict)
    errors: list[Error] = field(default_factory=list)
    texts: int = 0
    clean_texts: int = 0
    clean_texts_flagged: int = 0

    @property
    def overall(self) -> KindScore:
        total = KindScore()
        for score in self.per_kind.values():
            total.add(score)
        return total

    def to_json(self) -> dict[str, object]:
        return {"texts": self.texts, "clean_texts": self.clean_texts, "clean_texts_flagged": self.clean_texts_flagged,
                "per_kind": {k: s.to_json() for k, s in self.per_kind.items()}, "overall": self.overall.to_json()}


def _other_kind(span: Located, against: Iterable[Located]) -> str:
    return next((o.kind for o in against if o.kind != span.kind and Span(o.kind, o.start, o.end).overlaps(span)), "")


def score_case(case: Case, predicted: Sequence[Located], report: Report) -> None:
    """Add one text's gold and predicted spans to ``report``."""
    def score(kind: str) -> KindScore:
        return report.per_kind.setdefault(kind, KindScore())

    for gold in case.spans:
        hit = any(p.kind == gold.kind and gold.overlaps(p) for p in predicted)
        score(gold.kind).support += 1
        score(gold.kind).found += hit
        if not hit:
            snippet = case.text[gold.start:gold.end]
            report.errors.append(Error("miss", gold.kind, snippet, case.text, _other_kind(gold, predicted)))
    for pred in predicted:
        right = any(g.kind == pred.kind and g.overlaps(pred) for g in case.spans)
        score(pred.kind).predicted += 1
        score(pred.kind).correct += right
        if not right:
            snippet = case.text[pred.start:pred.end]
            report.errors.append(Error("false_alarm", pred.kind, snippet, case.text, _other_kind(pred, case.spans)))
    report.texts += 1
    if not case.spans:
        report.clean_texts += 1
        report.clean_texts_flagged += bool(predicted)


def evaluate(cases: Iterable[Case], detect: Callable[[str], Sequence[Located]],
             kinds: Iterable[str] = ()) -> Report:
    """Run ``detect`` on every case and score it; ``kinds`` get a row even when neither side has any."""
    report = Report(per_kind={k: KindScore() for k in kinds})
    for case in cases:
        score_case(case, detect(case.text), report)
    return report


def format_table(report: Report) -> str:
    """The per-kind table the bench prints."""
    lines = [f"{'kind':<12} {'support':>7} {'tp':>4} {'pred':>5} {'precision':>9} {'recall':>7} {'f1':>6}"]
    rows = [*report.per_kind.items(), ("overall", report.overall)]
    for kind, s in rows:
        lines.append(f"{kind:<12} {s.support:>7} {s.found:>4} {s.predicted:>5} "
                     f"{s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f}")
    lines.append(f"texts {report.texts}; without personal data {report.clean_texts}, "
                 f"of which flagged {report.clean_texts_flagged}")
    return "\n".join(lines)


def format_errors(report: Report) -> str:
    """Misses and false alarms, one line each, with the text for context."""
    out = []
    for e in report.errors:
        other = f" (labelled/predicted {e.other})" if e.other else ""
        out.append(f"{e.what:<11} {e.kind:<11} {e.snippet!r}{other}  <- {e.text!r}")
    return "\n".join(out)
