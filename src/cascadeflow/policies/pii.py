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

# Not followed by ``:path``: ``git@github.com:org/repo.git`` is an SSH remote, not somebody's address.
_EMAIL: Final = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}\b(?!:[\w~/])")
# Never a piece of a longer run of digit groups or of a hyphenated code (tracking numbers, IBANs, part numbers):
# not preceded by "digit + separator", not followed by a word character or "separator + word character".
_PHONE: Final = re.compile(
    r"(?<![\w+])(?<!\d[ ./-])"
    r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}"  # +49 30 1234 5678
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]?\d{4}"  # (555) 123-4567
    r"|\b(?:1[ .-])?[2-9]\d{2}(?P<sep>[ .-])[2-9]\d{2}(?P=sep)\d{4}"  # 1-555-123-4567, 555 123 4567 (NANP)
    r"|\b0[1-9](?: \d{2}){4}|\b0[1-9](?:\.\d{2}){4}"  # 01 42 68 53 00, 04.72.10.30.30 (France)
    r"|\b0\d{1,4}[ /-]\d{3,4}[ -]?\d{3,4})(?!\w|[./-]\w)"  # 030 1234 5678, 020-7946-0958, 06-12345678
)
_IBAN: Final = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD: Final = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_SSN_DIGITS: Final = r"(?!000|666|9\d\d)\d{3}(?P<sep>[ -]?)(?!00)\d{2}(?P=sep)(?!0000)\d{4}"
_SSN: Final = re.compile(rf"\b{_SSN_DIGITS.replace('[ -]?', '-')}\b")
# Bare or spaced digits need their name next to them: "SSN: 078051120", "my BSN is 123456782".
_NAMED: Final = r"\b(?:{names})\b[\s:#=.-]{{0,3}}(?:(?:is|nr|no|number|nummer)[\s:#=.-]{{1,3}})?"
_SSN_NAMED: Final = re.compile(_NAMED.format(names=r"SSN|social security (?:number|no)")
                               + rf"({_SSN_DIGITS})\b", re.IGNORECASE)
_NINO: Final = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIQUVO])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_BSN: Final = re.compile(_NAMED.format(names=r"BSN|burgerservicenummer|sofi-?nummer|citizen service number")
                         + r"(\d{9})\b", re.IGNORECASE)
_DNI: Final = re.compile(r"\b([XYZ]-?\d{7}|\d{8}|\d{2}\.\d{3}\.\d{3})[ -]?([A-Z])\b")  # also X-1234567-L
# Acronyms (HIV, AIDS, MRI, CT scan, ICD-10) match in capitals only ("sales aids"); a person is "diagnosed with"
# or "as" something, while "we diagnosed the leak" is an engineer at work.
_HEALTH: Final = re.compile(
    r"\b(?:diagnosis|diagnosed (?:with|as)|patient|prescri(?:bed|ption)|medication|(?-i:HIV|AIDS)|"
    r"cancer|tumou?r|diabetes|chemotherapy|dialysis|pregnan(?:t|cy)|psychiatric|depression|schizophrenia|"
    r"bipolar|hepatitis|blood (?:test|pressure)|(?-i:MRI|CT scan|ICD-10)|biopsy|surgery|insulin|antidepressant|opioid|"
    r"medical record|health (?:record|insurance)|allerg(?:y|ic)|asthma|epilep(?:sy|tic)|dementia|Alzheimer's?)\b",
    re.IGNORECASE,
)
_DNI_LETTERS: Final = "TRWAGMYFPDXBNJZSQVHLCKE"
# "Be patient", "so patient with us": the adjective, not someone receiving care.
_NOT_A_PATIENT: Final = re.compile(r"\b(?:be|being|been|is|are|was|were|am|so|very|too|more|stay|remain)\s+$",
                                   re.IGNORECASE)


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


def _card_ok(raw: str) -> bool:
    """Luhn plus the issuer rules: payment networks start with 2-6; 15 digits is Amex only (an IMEI is 15
    Luhn-valid digits too)."""
    digits = "".join(c for c in raw if c.isdigit())
    return _luhn_ok(digits) and digits[0] in "23456" and (len(digits) != 15 or digits[:2] in ("34", "37"))


def _health_ok(match: re.Match[str]) -> bool:
    if match.group().lower() != "patient":
        return True
    after = match.string[match.end():match.end() + 5].lower()
    return not (_NOT_A_PATIENT.search(match.string, 0, match.start()) or after == " with")


def _dni_ok(match: re.Match[str]) -> bool:
    number, letter = match.group(1).replace("-", "").replace(".", ""), match.group(2)
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
    "card": lambda t: _spans("card", _CARD, t, lambda m: _card_ok(m.group())),
    "national_id": lambda t: [*_spans("national_id", _SSN, t), *_spans("national_id", _SSN_NAMED, t, group=1),
                              *_spans("national_id", _NINO, t),
                              *_spans("national_id", _BSN, t, lambda m: _bsn_ok(m.group(1)), group=1),
                              *_spans("national_id", _DNI, t, _dni_ok)],
    "phone": lambda t: _spans("phone", _PHONE, t, lambda m: sum(c.isdigit() for c in m.group()) >= 9),
    "health": lambda t: _spans("health", _HEALTH, t, _health_ok),
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
