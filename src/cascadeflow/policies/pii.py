"""Rule-based detection of personal data in text: fast (microseconds), no model, checksums where they exist.

Kinds: ``email``; ``phone`` (international ``+`` numbers and common national layouts); ``iban`` (ISO 13616,
mod-97 checked); ``card`` (payment card numbers, Luhn checked); ``national_id`` (US SSN, UK National Insurance
number, Dutch BSN with its 11-test, Spanish DNI/NIE with its letter check); ``health`` (medical terms that make
a text protected health information when it also identifies someone — used by the HIPAA pack). Precision and
recall on a labelled set: ``python bench/pii_detection.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

_EMAIL: Final = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}\b")
_PHONE: Final = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}"  # +49 30 1234 5678
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]?\d{4}"  # (555) 123-4567
    r"|\b\d{3}[.-]\d{3}[.-]\d{4}"  # 555-123-4567
    r"|\b0\d{2,4}[ /-]\d{3,4}[ -]?\d{3,4})(?![\w])"  # 030 1234 5678, 020-7946-0958
)
_IBAN: Final = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD: Final = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_SSN: Final = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_NINO: Final = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIQUVO])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_BSN: Final = re.compile(r"\b(?:BSN|burgerservicenummer)[:\s#]*(\d{9})\b", re.IGNORECASE)
_DNI: Final = re.compile(r"\b([XYZ]?\d{7,8})-?([A-Z])\b")
_HEALTH: Final = re.compile(
    r"\b(?:diagnos(?:is|ed)|patient|prescri(?:bed|ption)|medication|HIV|AIDS|cancer|tumou?r|diabetes|"
    r"chemotherapy|dialysis|pregnan(?:t|cy)|psychiatric|depression|schizophrenia|bipolar|hepatitis|"
    r"blood (?:test|pressure)|MRI|CT scan|biopsy|surgery|insulin|antidepressant|opioid|medical record|"
    r"health (?:record|insurance)|ICD-10|allerg(?:y|ic)|asthma|epilep(?:sy|tic)|dementia|Alzheimer's?)\b",
    re.IGNORECASE,
)
_DNI_LETTERS: Final = "TRWAGMYFPDXBNJZSQVHLCKE"


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data: its kind and where it is (``text[start:end]``)."""

    kind: str
    start: int
    end: int


def _iban_ok(raw: str) -> bool:
    text = raw.replace(" ", "")
    if not 15 <= len(text) <= 34:
        return False
    moved = text[4:] + text[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def _luhn_ok(raw: str) -> bool:
    digits = [int(c) for c in raw if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _bsn_ok(raw: str) -> bool:
    digits = [int(c) for c in raw]
    return sum(d * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True)) % 11 == 0


def _dni_ok(match: re.Match[str]) -> bool:
    number, letter = match.group(1), match.group(2)
    body = number.replace("X", "0").replace("Y", "1").replace("Z", "2")
    return len(body) == 8 and _DNI_LETTERS[int(body) % 23] == letter


def _spans(kind: str, pattern: re.Pattern[str], text: str,
           valid: Callable[[re.Match[str]], bool] = lambda m: True, group: int = 0) -> Iterable[Finding]:
    for match in pattern.finditer(text):
        if valid(match):
            yield Finding(kind, match.start(group), match.end(group))


DETECTORS: Final[Mapping[str, Callable[[str], Iterable[Finding]]]] = MappingProxyType({
    "email": lambda t: _spans("email", _EMAIL, t),
    "iban": lambda t: _spans("iban", _IBAN, t, lambda m: _iban_ok(m.group())),
    "card": lambda t: _spans("card", _CARD, t, lambda m: _luhn_ok(m.group())),
    "national_id": lambda t: [*_spans("national_id", _SSN, t), *_spans("national_id", _NINO, t),
                              *_spans("national_id", _BSN, t, lambda m: _bsn_ok(m.group(1)), group=1),
                              *_spans("national_id", _DNI, t, _dni_ok)],
    "phone": lambda t: _spans("phone", _PHONE, t, lambda m: sum(c.isdigit() for c in m.group()) >= 9),
    "health": lambda t: _spans("health", _HEALTH, t),
})
"""Detector per kind; checked in this order, and a span already claimed by an earlier kind is not reported
again (a card number is not also a phone number)."""
KINDS: Final = tuple(DETECTORS)


def detect(text: str, kinds: Iterable[str] = KINDS) -> list[Finding]:
    """Personal data in ``text`` of the given kinds, in order of position, without overlaps."""
    found: list[Finding] = []
    for kind in kinds:
        for finding in DETECTORS[kind](text):
            if not any(f.start < finding.end and finding.start < f.end for f in found):
                found.append(finding)
    return sorted(found, key=lambda f: f.start)


def redact(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each finding replaced by ``[KIND]``."""
    out, last = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        out.append(text[last:f.start])
        out.append(f"[{f.kind.upper()}]")
        last = f.end
    out.append(text[last:])
    return "".join(out)
