"""The PII labelled set loads and is big enough; the overlap scorer counts what it claims to."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cascadeflow.bench.pii_eval import DEFAULT_DATA, Case, Span, evaluate, load_cases, resolve_spans
from cascadeflow.errors import ConfigError
from cascadeflow.policies import pii


def test_spans_resolve_to_offsets_and_a_repeated_substring_means_its_next_occurrence() -> None:
    text = "call 555-0101 or 555-0101, mail a@b.io"
    spans = resolve_spans(text, [{"kind": "phone", "text": "555-0101"}, {"kind": "email", "text": "a@b.io"},
                                 {"kind": "phone", "text": "555-0101"}])
    assert [text[s.start:s.end] for s in spans] == ["555-0101", "555-0101", "a@b.io"]
    assert spans[0].start == 5 and spans[1].start == 17


def test_a_span_not_in_its_text_is_rejected_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"text": "ok", "spans": []}) + "\n"
                    + json.dumps({"text": "mail me at a@b.io", "spans": [{"kind": "email", "text": "a@b.com"}]})
                    + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"set\.jsonl:2.*'a@b\.com'"):
        load_cases(path)
    with pytest.raises(ConfigError, match="non-empty 'text'"):
        resolve_spans("x", [{"kind": "email", "text": ""}])


def test_an_unknown_kind_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"text": "a@b.io", "spans": [{"kind": "mail", "text": "a@b.io"}]}) + "\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown kind"):
        load_cases(path, pii.KINDS)


def test_overlap_of_the_same_kind_counts_and_a_kind_mismatch_is_a_miss_and_a_false_alarm() -> None:
    case = Case("x" * 40, (Span("phone", 0, 10), Span("card", 20, 36)))
    predictions = {
        "x" * 40: [Span("phone", 3, 12), Span("phone", 4, 6), Span("phone", 20, 36), Span("email", 37, 39)],
    }
    report = evaluate([case], lambda text: predictions[text], ["phone", "card", "email"])
    phone, card, email = (report.per_kind[k] for k in ("phone", "card", "email"))
    assert (phone.support, phone.found, phone.predicted, phone.correct) == (1, 1, 3, 2)
    assert (card.support, card.found, card.predicted, card.correct) == (1, 0, 0, 0)
    assert (email.support, email.found, email.predicted, email.correct) == (0, 0, 1, 0)
    assert phone.precision == pytest.approx(2 / 3) and phone.recall == 1.0
    assert card.recall == 0.0 and card.f1 == 0.0 and email.precision == 0.0
    overall = report.overall
    assert (overall.support, overall.found, overall.predicted, overall.correct) == (2, 1, 4, 2)
    errors = {(e.what, e.kind, e.other) for e in report.errors}
    assert errors == {("miss", "card", "phone"), ("false_alarm", "phone", "card"), ("false_alarm", "email", "")}


def test_touching_spans_do_not_overlap_and_clean_texts_are_counted() -> None:
    gold = Case("a@b.io then", (Span("email", 0, 6),))
    clean = Case("nothing here", ())
    preds = {gold.text: [Span("email", 6, 11)], clean.text: [Span("phone", 0, 7)]}
    report = evaluate([gold, clean], lambda text: preds[text])
    assert report.per_kind["email"].found == 0 and report.per_kind["email"].correct == 0
    assert (report.texts, report.clean_texts, report.clean_texts_flagged) == (2, 1, 1)


def test_the_committed_set_loads_and_covers_every_kind() -> None:
    cases = load_cases(DEFAULT_DATA, pii.KINDS)
    assert len(cases) == len([line for line in DEFAULT_DATA.read_text(encoding="utf-8").splitlines() if line])
    per_kind = Counter(s.kind for c in cases for s in c.spans)
    assert {k: per_kind[k] for k in pii.KINDS if per_kind[k] < 10} == {}
    assert sum(1 for c in cases if not c.spans) >= 40
    assert len({c.text for c in cases}) == len(cases)
