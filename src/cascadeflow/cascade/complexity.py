"""Rule-based complexity detection: decide in microseconds how hard a prompt is, and say why.

Evidence is summed in *points*: vocabulary markers (explanation, analysis, proof, maths, code, expert domains),
phrases ("step by step"), length, multi-part requests, and the structure of any Python code in the prompt
(branches, loops, nesting, parsed with :mod:`ast`). Cut-offs in :class:`ComplexitySettings` turn the points
into a level. Each piece of evidence becomes a short signal ("marker:prove", "long:212 words") so the routing
decision can be read back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.cascade.quality.text import PYTHON_LINE_RE, PYTHON_TAGS, fenced_blocks, strip_fences, words_of
from cascadeflow.config import Complexity
from cascadeflow.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ComplexityResult:
    """The level, the evidence behind it, and ``score`` in 0..1 (points / ``saturation_points``)."""

    level: Complexity
    signals: tuple[str, ...]
    score: float


def _default_markers() -> dict[str, tuple[float, float]]:
    return {
        # (points per marker word or phrase, cap for the category)
        # Asking for an explanation ("why", "how does") makes a lookup a short essay, but only once.
        "explain": (0.75, 1.0),
        # Comparing, designing, weighing trade-offs needs structured reasoning over several facts.
        "analysis": (1.25, 2.5),
        # Proofs and derivations are where small models fail most; one such word nearly decides "expert".
        "marker": (3.5, 5.0),
        # Maths vocabulary: multi-step symbolic work.
        "math": (0.75, 2.0),
        # Programming tasks; the code's own structure is scored separately.
        "code": (0.75, 2.0),
        # A language name alone says little ("in Python" often marks an easy how-to).
        "lang": (0.25, 0.5),
        # Specialist vocabulary (medicine, law, finance, physics, CS theory, ML): expert knowledge.
        "domain": (1.0, 3.0),
        # Requests for depth or rigour ("step by step", "edge cases", "first principles").
        "depth": (1.0, 2.0),
        # Constraints ("without using", "in O(n)", "ignoring case") add conditions to satisfy.
        "constraint": (0.5, 1.5),
    }


@dataclass(frozen=True)
class ComplexitySettings:
    """Cut-offs and weights of the detector, each with the reason for its default."""

    markers: Mapping[str, tuple[float, float]] = field(default_factory=_default_markers)
    trivial_max_words: int = 12
    """A question of at most a dozen words with no marker is a lookup ("What color is the sky?")."""
    trivial_max_points: float = 0.75
    """Below one explanation marker's worth of evidence a short question stays trivial."""
    moderate_points: float = 1.5
    """Two light markers (e.g. "explain ... and why") or one analysis word make a prompt moderate."""
    hard_points: float = 3.5
    """About three strong pieces of evidence (analysis + domain + constraints) make it hard."""
    expert_points: float = 5.5
    """Expert needs a proof/derivation marker plus more, or a pile of specialist evidence."""
    saturation_points: float = 8.0
    """Points mapped to score 1.0: comfortably above the expert cut so scores still rank expert prompts."""
    long_words: int = 40
    """Beyond ~40 words of prose a prompt carries context or several requirements."""
    very_long_words: int = 120
    """Beyond ~120 words (a pasted document or spec) the model must juggle a lot of context."""
    long_points: float = 1.0
    """A long prompt is one more piece of evidence, like one analysis word."""
    very_long_points: float = 2.0
    """A very long one counts double: holding a whole document in mind is where small models slip."""
    multi_part_points: tuple[float, float, float] = (0.75, 1.25, 2.0)
    """Points for 2, 3-4, and 5+ separate questions or list items: each part is one more thing to get right."""
    math_expression_points: float = 0.5
    """Arithmetic in the prompt ("3x + 7 = 22"): a little work, not much ("What is 2 + 2?" stays trivial)."""
    code_base_points: float = 0.5
    """Any code in the prompt must be read and understood before answering."""
    code_branch_points: float = 0.25
    """Per branch (if, match case, except, conditional expression): each doubles the paths to follow."""
    code_loop_points: float = 0.5
    """Loops weigh more than branches: reasoning about iteration is harder than about a condition."""
    code_depth_points: float = 0.5
    """Per nesting level beyond the first: nested control flow is where code understanding breaks down."""
    code_function_points: float = 0.25
    """Per function or class beyond the first."""
    code_cap: float = 2.0
    """Structure adds at most two points over the base: the prompt's words say what must be done with it."""
    unparsed_line_points: float = 0.05
    """Code that does not parse as Python is scored by size only: 20 lines = one point."""
    unparsed_cap: float = 2.0
    """Same ceiling as parsed structure: size alone never decides more than structure could."""

    def __post_init__(self) -> None:
        cuts = (self.trivial_max_points, self.moderate_points, self.hard_points, self.expert_points)
        if any(not isinstance(c, int | float) or c < 0 for c in cuts) or list(cuts) != sorted(cuts):
            raise ConfigError(
                "ComplexitySettings.expert_points",
                f"cut-offs must be >= 0 and ordered trivial <= moderate <= hard <= expert, got {cuts}",
            )
        if self.saturation_points <= 0 or not 0 < self.long_words <= self.very_long_words:
            raise ConfigError("ComplexitySettings.saturation_points", "needs saturation_points > 0 and "
                              "0 < long_words <= very_long_words")  # fmt: skip
        object.__setattr__(self, "markers", dict(self.markers))


def _vocab(words: str) -> frozenset[str]:
    return frozenset(words.split())


_EXPLAIN: Final = _vocab(
    "explain explanation why describe elaborate clarify summarize summarise outline difference differences versus "
    "discuss"
)
_ANALYSIS: Final = _vocab(
    "analyze analyse analysis evaluate critique critically assess justify implications tradeoffs trade-offs "
    "trade-off tradeoff architecture architect design optimize optimise strategy strategies compare contrast "
    "comparison pros recommend investigate diagnose troubleshoot"
)
_EXPERT: Final = _vocab(
    "prove proof proofs theorem lemma derive derivation rigorous rigorously formally axiom axioms conjecture "
    "corollary np-hard np-complete undecidable"
)
_MATH: Final = _vocab(
    "solve equation equations integral integrate derivative differentiate calculus matrix matrices probability "
    "probabilities statistics statistical variance regression prime primes infinitely polynomial logarithm "
    "geometry algebra vector vectors modulo factorial combinatorics permutations combinations"
)
_CODE: Final = _vocab(
    "implement implementation function functions algorithm algorithms refactor debug recursion recursive regex "
    "compile compiler concurrency concurrent thread threads async asynchronous deadlock parse parser"
)
"""Programming *tasks*; nouns that also open easy questions ("what is an API?") are left out."""
_LANG: Final = _vocab(
    "python javascript typescript java rust golang ruby php kotlin swift bash html css react django"
)
_DOMAIN: Final = _vocab(
    # medicine
    "pharmacokinetics pharmacodynamics contraindications contraindicated etiology pathophysiology comorbidities "
    "comorbidity dosage prognosis histology immunotherapy oncology myocardial renal hepatic anticoagulant "
    "anticoagulation "
    # law
    "jurisdiction jurisprudence tort torts statute statutory liability fiduciary indemnification precedent "
    "plaintiff defendant litigation gdpr hipaa "
    # finance
    "arbitrage black-scholes volatility amortization ebitda valuation securities collateralized stochastic itô "
    "itô's ito ito's martingale brownian "
    # physics
    "quantum hamiltonian lagrangian relativity thermodynamics schrödinger schrodinger eigenstate perturbation "
    "renormalization spacetime "
    # computer science
    "distributed consensus byzantine linearizable linearizability lock-free wait-free cryptographic cryptography "
    "zero-knowledge homomorphic sharding idempotent idempotency raft paxos "
    # machine learning and advanced maths
    "backpropagation transformer regularization overfitting bayesian posterior variational convolutional "
    "reinforcement hyperparameters eigenvalue eigenvalues eigenvector eigenvectors topology manifold "
    "homomorphism isomorphism hilbert banach riemann galois asymptotic asymptotically"
)
_VOCABULARY: Final[Mapping[str, str]] = MappingProxyType({
    word: label
    for label, words in (
        ("explain", _EXPLAIN),
        ("analysis", _ANALYSIS),
        ("marker", _EXPERT),
        ("math", _MATH),
        ("code", _CODE),
        ("lang", _LANG),
        ("domain", _DOMAIN),
    )
    for word in words
})
"""Marker word -> category; one set intersection with the prompt's words finds every marker at once."""
_VOCABULARY_WORDS: Final = frozenset(_VOCABULARY)
_PHRASE_CATEGORIES: Final = (
    ("explain", ("how do ", "how does ", "how can ", "how to ", "how should ", "how would ")),
    ("code", ("time complexity", "space complexity", "big-o", "big o ")),
    ("depth", ("step by step", "step-by-step", "first principles", "in depth", "in-depth", "in detail",
               "root cause", "failure modes", "edge cases", "best practices", "show your steps", "show your work",
               "show the steps", "explain your reasoning")),
    ("constraint", ("without using", "ignoring", "in place", "in-place", "o(n", "o(1)", "o(log", "thread-safe",
                    "must handle", "make sure")),
    ("domain", ("differential diagnosis",)),
)  # fmt: skip
_PHRASES_BY_FIRST_WORD: Final[Mapping[str, tuple[tuple[str, str], ...]]] = MappingProxyType({
    first: tuple((label, p) for label, ps in _PHRASE_CATEGORIES for p in ps if words_of(p)[0] == first)
    for first in {words_of(p)[0] for _, ps in _PHRASE_CATEGORIES for p in ps}
})
"""Phrases indexed by their first word: only phrases whose first word occurs in the prompt are searched for."""
_PHRASE_FIRST_WORDS: Final = frozenset(_PHRASES_BY_FIRST_WORD)
_JOIN_WORDS: Final = frozenset(("and", "then", "also"))
_QUESTION_WORDS: Final = frozenset(("why", "how", "what", "which", "when", "where"))
_MATH_EXPR_RE: Final = re.compile(r"\d[a-z]?\s*(?:[-+*/^×÷=<>]|\sx\s)\s*\(?\d")
_LATEX_RE: Final = re.compile(r"\\(?:frac|int|sum|prod|lim|sqrt|partial|nabla)\b|\$\$")
_LIST_ITEM_RE: Final = re.compile(r"^[ \t]*(?:\d+[.)]|[-*•])[ \t]+\S", re.M)
_JOINED_QUESTION_RE: Final = re.compile(r"\b(?:and|then|also) (?:why|how|what|which|when|where)\b")
_TRIM_TRIES: Final = 3  # unfenced code may be followed by a few lines of prose; trim up to this many to parse


@dataclass(frozen=True, slots=True)
class _CodeStats:
    branches: int
    loops: int
    depth: int
    functions: int


def _ast_stats(code: str) -> _CodeStats | None:
    """Branches, loops, max control-flow nesting and function/class count; None when it does not parse."""
    import ast  # only prompts with code pay for it

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return None
    blocks = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
    branch_types = (ast.If, ast.IfExp, ast.match_case, ast.ExceptHandler)
    loop_types = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    branches = loops = depth = functions = 0
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        branches += isinstance(node, branch_types)
        loops += isinstance(node, loop_types)
        functions += isinstance(node, defs)
        depth = max(depth, level)
        elif_child = node.orelse[0] if isinstance(node, ast.If) and len(node.orelse) == 1 else None
        for child in ast.iter_child_nodes(node):
            nested = isinstance(child, blocks) and child is not elif_child
            stack.append((child, level + 1 if nested else level))
    return _CodeStats(branches, loops, depth, functions)


def _code_in(text: str) -> tuple[str, str] | None:
    """``(code, prose)`` when the prompt contains code (fenced, or lines only Python would write)."""
    blocks = fenced_blocks(text)
    if blocks:
        python = [c for lang, c in blocks if lang in PYTHON_TAGS or not lang]
        code = "\n".join(python) if python else "\n".join(c for _, c in blocks)
        return code, strip_fences(text)
    if "\n" not in text:
        return None
    match = PYTHON_LINE_RE.search(text)
    if match is None:
        return None
    start = text.rfind("\n", 0, match.start()) + 1
    return text[start:], text[:start]


class ComplexityDetector:
    """Classify a prompt as trivial / simple / moderate / hard / expert; stateless and thread-safe."""

    __slots__ = ("settings",)

    def __init__(self, settings: ComplexitySettings | None = None) -> None:
        self.settings = settings or ComplexitySettings()

    def detect(self, text: str) -> ComplexityResult:
        s = self.settings
        signals: list[str] = []
        points = 0.0
        code = _code_in(text) if ("```" in text or "\n" in text) else None
        if code is not None:
            points += self._code_points(code[0], signals)
            text = code[1]
        lowered = text.lower()
        words = words_of(lowered)
        unique = frozenset(words)
        points += self._marker_points(lowered, unique, signals)
        points += self._shape_points(text, lowered, len(words), unique, signals)
        if points >= s.expert_points:
            level: Complexity = "expert"
        elif points >= s.hard_points:
            level = "hard"
        elif points >= s.moderate_points:
            level = "moderate"
        elif points < s.trivial_max_points and len(words) <= s.trivial_max_words:
            level = "trivial"
        else:
            level = "simple"
        return ComplexityResult(level, tuple(signals), min(points / s.saturation_points, 1.0))

    def _marker_points(self, lowered: str, words: frozenset[str], signals: list[str]) -> float:
        found: dict[str, list[str]] = {}
        for word in sorted(words & _VOCABULARY_WORDS):
            found.setdefault(_VOCABULARY[word], []).append(word)
        for first in sorted(words & _PHRASE_FIRST_WORDS):
            for label, phrase in _PHRASES_BY_FIRST_WORD[first]:
                if phrase in lowered:
                    found.setdefault(label, []).append(phrase.strip())
        total = 0.0
        for label, hits in found.items():
            each, cap = self.settings.markers.get(label, (0.0, 0.0))
            total += min(each * len(hits), cap)
            signals.append(f"{label}:{','.join(hits)}")
        return total

    def _shape_points(self, text: str, lowered: str, n: int, words: frozenset[str], signals: list[str]) -> float:
        """Length, arithmetic and multi-part structure."""
        s = self.settings
        points = 0.0
        if n >= s.very_long_words:
            points += s.very_long_points
            signals.append(f"long:{n} words")
        elif n >= s.long_words:
            points += s.long_points
            signals.append(f"long:{n} words")
        elif n <= s.trivial_max_words:
            signals.append(f"short:{n} words")
        else:
            signals.append(f"words:{n}")
        if ("\\" in text or "$$" in text) and _LATEX_RE.search(text):
            points += s.markers.get("math", (0.0, 0.0))[1]
            signals.append("math:latex")
        elif _MATH_EXPR_RE.search(lowered):
            points += s.math_expression_points
            signals.append("math:expression")
        # Each "?" is a question; "... and why ..." joins one more request to the main one.
        parts = max(text.count("?"), 1)
        if not words.isdisjoint(_JOIN_WORDS) and not words.isdisjoint(_QUESTION_WORDS):
            parts += len(_JOINED_QUESTION_RE.findall(lowered))
        if "\n" in text:
            parts = max(parts, len(_LIST_ITEM_RE.findall(text)))
        if parts >= 2:
            two, three, five = s.multi_part_points
            points += five if parts >= 5 else three if parts >= 3 else two
            signals.append(f"multi:{parts} parts")
        return points

    def _code_points(self, code: str, signals: list[str]) -> float:
        s = self.settings
        lines = code.splitlines()
        stats = None
        for end in range(len(lines), max(len(lines) - _TRIM_TRIES, 1) - 1, -1):
            stats = _ast_stats("\n".join(lines[:end]))
            if stats is not None:
                break
        if stats is None:
            signals.append(f"code:unparsed {len(lines)} lines")
            return s.code_base_points + min(len(lines) * s.unparsed_line_points, s.unparsed_cap)
        signals.append(f"code:ast branches={stats.branches} loops={stats.loops} depth={stats.depth}")
        structure = (
            stats.branches * s.code_branch_points
            + stats.loops * s.code_loop_points
            + max(stats.depth - 1, 0) * s.code_depth_points
            + max(stats.functions - 1, 0) * s.code_function_points
        )
        return s.code_base_points + min(structure, s.code_cap)
