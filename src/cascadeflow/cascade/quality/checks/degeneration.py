"""Degeneration: repetition loops, gibberish and broken characters, the typical failures of small models at high
temperature or near their context limit (and of byte-level detokenizers). Each measure has a cheap screen
first, so ordinary prose costs a few microseconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.cascade.quality.text import strip_fences
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number

NAME: Final = "degeneration"
_OK: Final = CheckResult(NAME, 1.0, "no repetition or gibberish")
_NO_TEXT: Final = CheckResult(NAME, 1.0, "no text to judge", applicable=False)

_CONSONANT_RUN_RE: Final = re.compile(r"[b-df-hj-np-tv-xz]{5,}")
"""Five lower-case consonants in a row (y counts as a vowel): almost absent from real words, common in mash."""
_REPLACEMENT_CHAR: Final = "\ufffd"
_MAX_REPLACEMENT_CHARS: Final = 2
"""U+FFFD stands where bytes could not be decoded: two or more mean the answer itself is broken (a mangled
multi-byte character, a cut token stream), whatever its score elsewhere — a veto."""
_MAX_REPLACEMENT_SHARE: Final = 0.1
"""A single U+FFFD that is a tenth of the visible text or more ("\ufffd ok") is most of the answer: a veto too."""
_ONE_REPLACEMENT_SCORE: Final = 0.5
"""One U+FFFD in a longer answer shows the reader a broken character: real doubt (it lowers the weighted score),
not a veto, since the rest of the answer may be fine."""
_VOWEL_SCREEN: Final = 0.2
"""English prose has ~30% vowels (a, e, i, o, u) among its non-space characters, keyboard mash and token soup
~10%: above 20% the (costlier) consonant-run scan cannot find enough runs to matter and is skipped."""
_ENTROPY_SCREEN_CHARS_PER_WORD: Final = 12
"""Exact entropy costs ~10 µs, so it is computed only for text whose words average over 12 characters:
character loops ("hahaha...", "!!!!...") and random soup have few spaces; prose averages ~6, code ~8."""


@dataclass(frozen=True)
class DegenerationSettings:
    """When text counts as a loop or as gibberish, each bound with the reason for its default. The prefixes
    name the measure (repeated word n-grams, repeated lines, gibberish words, character entropy)."""

    repeat_ngram: int = 3
    """Loops are measured on word trigrams: long enough that ordinary phrases ("of the") rarely repeat."""
    repeat_min_words: int = 10
    """Below ~10 words a repetition ratio is noise ("No, no, no." is emphasis, not a loop)."""
    repeat_max_ratio: float = 0.5
    """Share of repeated trigrams above which text is a loop: prose stays under ~0.15, loops exceed 0.6."""
    repeat_line_min: int = 4
    """Repeated-line checks need at least four substantive lines to say anything."""
    repeat_line_chars: int = 12
    """Lines shorter than this (braces, '---', short list stubs) may legitimately repeat and are ignored."""
    repeat_line_max_ratio: float = 0.5
    """More than half of the substantive lines being copies of others is a loop."""
    gibberish_min_words: int = 8
    """Gibberish ratios need a sentence or so of words to be meaningful."""
    gibberish_max_ratio: float = 0.35
    """Share of words containing a run of five lower-case consonants: English prose has ~0-3% (acronyms are
    upper case and not counted), keyboard mash and token soup well over a third."""
    entropy_min_chars: int = 40
    """Character entropy is judged only on at least ~40 characters; shorter samples swing too much."""
    entropy_low: float = 2.5
    """Bits per character below which text is a character loop ("hahaha", "!!!!"); English runs ~4.1."""
    entropy_high: float = 5.8
    """Bits per character above which ASCII text is random soup (~6.1); base64/hex stay <= 5.7, English ~4.2."""

    def __post_init__(self) -> None:
        for name in ("repeat_ngram", "repeat_min_words", "repeat_line_min", "repeat_line_chars",
                     "gibberish_min_words", "entropy_min_chars"):  # fmt: skip
            check_int(f"DegenerationSettings.{name}", getattr(self, name), lo=1)
        for name in ("repeat_max_ratio", "repeat_line_max_ratio", "gibberish_max_ratio"):
            check_number(f"DegenerationSettings.{name}", getattr(self, name), hi=1.0)
        check_number("DegenerationSettings.entropy_high", self.entropy_high)
        check_number("DegenerationSettings.entropy_low", self.entropy_low, hi=self.entropy_high)


def _entropy(text: str) -> float:
    n = len(text)
    total = 0.0
    for ch in set(text):
        p = text.count(ch) / n
        total -= p * math.log2(p)
    return total


def _repetition(words: list[str], settings: DegenerationSettings) -> str | None:
    """Reason when too many word n-grams repeat, else None."""
    n = len(words)
    size = settings.repeat_ngram
    grams = n - size + 1
    # Screen: k distinct n-grams cover at most k + size - 1 distinct words, so with this many distinct words
    # the repeated share of n-grams cannot exceed the limit; skip the costlier n-gram set.
    if len(set(words)) > (1.0 - settings.repeat_max_ratio) * grams + size - 1:
        return None
    distinct = len(set(zip(*(words[i:] for i in range(size)), strict=False)))
    ratio = 1.0 - distinct / grams
    if ratio > settings.repeat_max_ratio:
        return f"degeneration: repetition loop ({ratio:.0%} of {size}-word sequences repeat)"
    return None


def _repeated_lines(text: str, settings: DegenerationSettings) -> str | None:
    lines = [s for line in text.splitlines() if len(s := line.strip()) >= settings.repeat_line_chars]
    if len(lines) < settings.repeat_line_min:
        return None
    ratio = 1.0 - len(set(lines)) / len(lines)
    if ratio > settings.repeat_line_max_ratio:
        return f"degeneration: {ratio:.0%} of {len(lines)} lines are repeats"
    return None


def _broken_characters(text: str) -> CheckResult | None:
    """A result when the text holds U+FFFD replacement characters (undecodable bytes), else None."""
    count = text.count(_REPLACEMENT_CHAR)
    if not count:
        return None
    visible = len(text) - sum(1 for ch in text if ch.isspace())
    if count >= _MAX_REPLACEMENT_CHARS or count >= _MAX_REPLACEMENT_SHARE * visible:
        return CheckResult(NAME, 0.0, f"degeneration: broken characters ({count} x U+FFFD) in the answer")
    return CheckResult(NAME, _ONE_REPLACEMENT_SCORE, "degeneration: one broken character (U+FFFD) in the answer")


def _gibberish(text: str, words: int, settings: DegenerationSettings) -> str | None:
    """Reason when the text looks like token soup or a character loop, else None."""
    size = len(text)
    if words >= settings.gibberish_min_words:
        vowels = text.count("a") + text.count("e") + text.count("i") + text.count("o") + text.count("u")
        if vowels < _VOWEL_SCREEN * (size - text.count(" ")):
            runs = len(_CONSONANT_RUN_RE.findall(text))
            if runs / words > settings.gibberish_max_ratio:
                return f"degeneration: gibberish ({runs} of {words} words are unpronounceable)"
    if size < settings.entropy_min_chars or size <= _ENTROPY_SCREEN_CHARS_PER_WORD * words:
        return None
    bits = _entropy(text)
    if bits < settings.entropy_low:
        return f"degeneration: character loop (entropy {bits:.1f} bits/char)"
    if bits > settings.entropy_high and text.isascii():  # scripts with large alphabets run high naturally
        return f"degeneration: random characters (entropy {bits:.1f} bits/char)"
    return None


def check_degeneration(
    request: CompletionRequest, draft: Completion, context: ValidationContext, settings: DegenerationSettings
) -> CheckResult:
    """Veto repetition loops (repeated n-grams or lines) and gibberish (non-words, entropy extremes)."""
    content = draft.content
    if not content.strip():
        return _NO_TEXT
    broken = _broken_characters(content)  # judged on the whole answer: broken bytes in code are broken too
    if broken is not None and broken.score == 0.0:
        return broken
    words = content.split()
    reason = None
    if len(words) >= settings.repeat_min_words:
        reason = _repetition(words, settings)
    if reason is None and "\n" in content:
        reason = _repeated_lines(content, settings)
    if reason is None:
        prose = strip_fences(content)  # code has its own vocabulary; judge only the prose
        reason = _gibberish(prose, len(words) if prose is content else len(prose.split()), settings)
    if reason is not None:
        return CheckResult(NAME, 0.0, reason)
    return broken or _OK


SPEC: Final = CheckSpec(
    name=NAME,
    run=check_degeneration,
    settings=DegenerationSettings,
    weight=2.0,  # a repetition loop or gibberish is a near-certain failure: weighted highest
    order=30,
)
