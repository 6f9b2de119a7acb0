"""Rule-based domain detection: which kind of request is this (code, math, medical, ...)?

The domain decides which tiers may answer (a tier can declare ``ModelConfig.domains``) and is recorded with
every run. Detection is keyword/regex scoring, not a model: it runs on every request, so it must cost
microseconds and explain itself. Each rule that matches adds ``weight × distinct hits`` (capped) to its
domain; the highest score wins, and weak evidence falls back to ``general``.

Task rules ("translate ...", "write a poem ...", "write a function ...") outweigh topic vocabulary on
purpose: "translate this legal clause" is a translation job, "a haiku about the stock market" is creative.

Speed: vocabulary is matched by set intersection over the request's words and word pairs; the few regex
rules start with literal characters, so the regex engine skips ahead in C. Accuracy and µs per call are
measured by ``python -m cascadeflow.bench.domain_eval`` on a held-out labelled set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from cascadeflow.cascade.domain_rules import (
    ANCHORED_RULES,
    CASE_SENSITIVE_RULES,
    DRUG_SUFFIXES,
    NUMBER_WORDS,
    PATTERN_GATES,
    PATTERNS,
    VOCABULARY,
)
from cascadeflow.errors import ConfigError

Domain: TypeAlias = Literal[
    "code", "math", "medical", "legal", "finance", "creative", "translation", "factual", "general"
]
# Order matters only for ties: the more specific domain (earlier) wins over factual/general.
DOMAINS: tuple[Domain, ...] = (
    "code", "math", "medical", "legal", "finance", "creative", "translation", "factual", "general"
)


# Endings a "stem*" vocabulary entry also matches; forms that are not words simply never occur.
_INFLECTIONS = (
    "", "s", "es", "ed", "d", "ing", "er", "ers", "or", "ors", "ion", "ions", "ation", "ations", "ment", "ments",
    "al", "ally", "ic", "ics", "ical", "tic", "tics", "y", "ies", "ist", "ists", "ive", "ity", "e", "is", "ous",
    "ence", "ent", "ents", "ant", "ants", "ure", "ures", "ize", "izes", "ized", "izing", "ization", "ise", "ised",
)
_TOKEN = r"[a-z0-9]+(?:'(?!s\b)[a-z]+)?"  # "i'm" and "don't" stay whole; "gdpr's" is "gdpr"


def _default_weights() -> dict[str, float]:
    return {
        # Explicit task verbs name the job regardless of topic, so they outweigh several topic words.
        "code.task": 4.5,
        "creative.task": 4.0,
        "translation.task": 6.0,
        # "What does 'X' mean?" is usually about a foreign word, but also about jargon ("without prejudice").
        "translation.say": 2.5,
        # Languages, scripts and technologies are strong but not decisive on their own.
        "translation.language": 2.0,
        "translation.script": 2.0,
        "code.tech": 1.5,
        "code.symbols": 1.5,
        "code.syntax": 2.0,
        "math.expression": 2.0,
        "math.spoken": 2.0,
        "math.function": 2.0,
        # A quantity question over several numbers is the shape of a word problem, whatever it is about.
        "math.word_problem": 3.5,
        # Topic vocabulary: each distinct term adds a little; the hit cap keeps long prompts from running away.
        "code.term": 1.0,
        # A named algorithm outweighs "How do I ...": implementing quicksort is programming, not life advice.
        "code.algorithm": 2.0,
        "math.task": 1.5,
        "math.term": 1.0,
        "math.quantity": 0.0,
        "medical.term": 1.5,
        # Body parts are common in lay medical questions but also in biology and everyday talk.
        "medical.body": 1.0,
        "medical.drug": 2.0,
        "legal.term": 1.5,
        "legal.question": 2.0,
        "finance.term": 1.5,
        # "$5" appears in every grade-school word problem: a weak hint of finance, no more.
        "finance.money": 0.5,
        "creative.term": 1.0,
        # Exam-style multiple choice is how knowledge questions are usually posed.
        "factual.mcq": 2.5,
        # A bare wh-question is weak evidence: one topic word of another domain should beat it.
        "factual.question": 1.0,
        "factual.who_when_where": 2.0,
        "factual.term": 1.0,
        "general.assist": 1.0,
        "general.chat": 2.0,
        # "How do I ..." asks for practical help; a topic word of a specific domain still outweighs it.
        "general.howto": 1.0,
        # Only a tie-breaker between a personal request and an encyclopaedia question.
        "general.personal": 0.25,
    }


RULE_IDS = frozenset({*PATTERNS, *VOCABULARY, "medical.drug", "math.word_problem"})
# Shortest word that can carry a drug-class suffix ("-pril" needs a name in front: "lisinopril").
_MIN_DRUG_NAME = 7


def _check_number(name: str, value: object, *, integer: bool = False, lo: float = 0.0) -> None:
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or value < lo:
        kind = "an integer" if integer else "a number"
        raise ConfigError(name, f"must be {kind} >= {lo:g}, got {value!r}")


@dataclass(frozen=True)
class DomainSettings:
    """Tunables of :class:`DomainDetector`, each with the reason for its default.

    ``weights`` maps rule ids (``"medical.term"``, ``"translation.task"``, ...) to the score one distinct hit
    adds; give only the ones you change. A weight of 0 switches a rule off.
    """

    weights: Mapping[str, float] = field(default_factory=_default_weights)
    max_hits_per_rule: int = 4
    """A rule counts at most this many distinct hits: repeating "stock" ten times is not ten times the evidence."""
    min_score: float = 1.0
    """Below this best score nothing was really recognised, and the request is ``general``."""
    confidence_smoothing: float = 1.0
    """Added to the denominator of top / (top + runner-up), so a single weak hit is never near-certain."""
    fallback_confidence: float = 0.5
    """Confidence reported for ``general`` when it wins only because nothing else scored."""
    word_problem_min_numbers: int = 2
    """A quantity question ("how many", "in total") with at least this many numbers is a math word problem."""
    max_chars: int = 1500
    """Only the first ``max_chars`` and the last ``tail_chars`` characters are scanned: a long prompt states
    its task at the start or the end (a question after pasted text), and the cost stays bounded."""
    tail_chars: int = 500

    def __post_init__(self) -> None:
        for rule_id, weight in self.weights.items():
            if rule_id not in RULE_IDS:
                raise ConfigError(f"DomainSettings.weights[{rule_id!r}]", f"unknown rule; known: {sorted(RULE_IDS)}")
            _check_number(f"DomainSettings.weights[{rule_id!r}]", weight)
        for name in ("max_hits_per_rule", "word_problem_min_numbers", "max_chars", "tail_chars"):
            _check_number(f"DomainSettings.{name}", getattr(self, name), integer=True, lo=1)
        for name in ("min_score", "confidence_smoothing", "fallback_confidence"):
            _check_number(f"DomainSettings.{name}", getattr(self, name))
        object.__setattr__(self, "weights", {**_default_weights(), **dict(self.weights)})


@dataclass(frozen=True, slots=True)
class DomainResult:
    """The detected domain, how sure the detector is (0..1), and the rule hits that decided it."""

    domain: Domain
    confidence: float
    signals: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Pattern:
    rule_id: str
    regex: re.Pattern[str]
    gate: frozenset[str] | None
    anchored: bool
    case_sensitive: bool


class _VocabularyIndex:
    """Words and word pairs → the vocabulary rules that list them; "stem*" is expanded to its usual endings."""

    def __init__(self, vocabulary: Mapping[str, tuple[str, ...]], token: re.Pattern[str]) -> None:
        entries: dict[str, list[str]] = {}
        for rule_id, terms in vocabulary.items():
            for term in terms:
                stem = term.endswith("*")
                words = token.findall(term.rstrip("*").lower())
                if not 1 <= len(words) <= 2 or (stem and len(words) != 1):
                    raise ConfigError(f"VOCABULARY[{rule_id!r}]", f"{term!r}: use one word, a word pair or 'stem*'")
                for form in [words[0] + end for end in _INFLECTIONS] if stem else [" ".join(words)]:
                    rules = entries.setdefault(form, [])
                    if rule_id not in rules:
                        rules.append(rule_id)
        self.rules = {form: tuple(rules) for form, rules in entries.items()}
        self.words = frozenset(form for form in self.rules if " " not in form)
        pairs: dict[str, list[tuple[str, str]]] = {}
        for form in self.rules:
            if " " in form:
                pairs.setdefault(form.split(" ")[0], []).append((f" {form} ", form))
        # Word pairs are looked up only when their first word occurs: cheaper than building every pair.
        self.pairs = {first: tuple(found) for first, found in pairs.items()}
        self.first_words = frozenset(self.pairs)

    def match(self, tokens: list[str], words: set[str]) -> list[str]:
        """Sorted vocabulary entries present in the token sequence."""
        found = list(words & self.words)
        starts = words & self.first_words
        if starts:
            joined = f" {' '.join(tokens)} "
            found += [form for first in starts for padded, form in self.pairs[first] if padded in joined]
        found.sort()
        return found


class DomainDetector:
    """Scores a request against every domain's rules; stateless after construction, safe to share."""

    def __init__(self, settings: DomainSettings | None = None) -> None:
        self.settings = settings or DomainSettings()
        self._weights = {rule_id: float(w) for rule_id, w in self.settings.weights.items()}
        self._patterns = tuple(
            _Pattern(
                rule_id,
                re.compile(pattern),
                PATTERN_GATES.get(rule_id),
                rule_id in ANCHORED_RULES,
                rule_id in CASE_SENSITIVE_RULES,
            )
            for rule_id, pattern in PATTERNS.items()
            if self._weights[rule_id] > 0
        )
        self._token = re.compile(_TOKEN)
        self._number = re.compile(r"\d+(?:[.,]\d+)*")
        self._vocabulary = _VocabularyIndex(VOCABULARY, self._token)
        self._drug_hint = re.compile("|".join(DRUG_SUFFIXES))

    def detect(self, text: str) -> DomainResult:
        """Classify one request text (usually the last user message)."""
        head, tail = self.settings.max_chars, self.settings.tail_chars
        sample = text if len(text) <= head + tail else f"{text[:head]}\n{text[-tail:]}"
        lower = sample.lower().replace("’", "'")
        tokens = self._token.findall(lower)
        words = set(tokens)
        hits: dict[str, list[str]] = {}
        for form in self._vocabulary.match(tokens, words):
            for rule_id in self._vocabulary.rules[form]:
                hits.setdefault(rule_id, []).append(form)
        self._match_patterns(sample, lower, words, hits)
        if self._drug_hint.search(lower) is not None:  # cheap C scan before the per-word check
            known = self._vocabulary.words  # listed drugs already score as medical terms
            drugs = sorted(
                {t for t in words if len(t) >= _MIN_DRUG_NAME and t.endswith(DRUG_SUFFIXES) and t not in known}
            )
            if drugs:
                hits["medical.drug"] = drugs
        if "math.quantity" in hits and self._counts_numbers(lower, words):
            hits["math.word_problem"] = ["quantity question over numbers"]
        return self._decide(hits)

    def _match_patterns(self, sample: str, lower: str, words: set[str], hits: dict[str, list[str]]) -> None:
        cap = self.settings.max_hits_per_rule
        for pattern in self._patterns:
            if pattern.gate is not None and pattern.gate.isdisjoint(words):
                continue
            if pattern.rule_id == "translation.script" and lower.isascii():  # no non-Latin script here
                continue
            subject = sample if pattern.case_sensitive else lower
            if pattern.anchored:
                match = pattern.regex.match(subject)
                if match is not None:
                    hits[pattern.rule_id] = [match.group(0).strip().lower()]
                continue
            found: list[str] = []
            for match in pattern.regex.finditer(subject):
                hit = match.group(0).strip().lower()
                if hit not in found:
                    found.append(hit)
                    if len(found) >= cap:
                        break
            if found:
                hits[pattern.rule_id] = found

    def _counts_numbers(self, lower: str, words: set[str]) -> bool:
        """At least ``word_problem_min_numbers`` numbers ("90,000" is one) or number words."""
        needed = self.settings.word_problem_min_numbers
        seen = len(words & NUMBER_WORDS)
        for _ in self._number.finditer(lower):
            seen += 1
            if seen >= needed:
                return True
        return seen >= needed

    def _decide(self, hits: dict[str, list[str]]) -> DomainResult:
        cap = self.settings.max_hits_per_rule
        scores: dict[str, float] = dict.fromkeys(DOMAINS, 0.0)
        signals: list[str] = []
        for rule_id in sorted(hits):
            weight = self._weights[rule_id]
            if weight > 0:
                found = hits[rule_id][:cap]
                scores[rule_id.partition(".")[0]] += weight * len(found)
                signals.append(f"{rule_id}:{'|'.join(found)}")
        best = max(DOMAINS, key=scores.__getitem__)  # the first of equal scores: ties keep DOMAINS order
        top = scores[best]
        if top < self.settings.min_score:
            return DomainResult("general", self.settings.fallback_confidence, tuple(signals), scores)
        runner_up = max(score for domain, score in scores.items() if domain != best)
        confidence = top / (top + runner_up + self.settings.confidence_smoothing)
        return DomainResult(best, round(confidence, 4), tuple(signals), scores)
