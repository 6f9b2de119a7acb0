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

from cascadeflow.errors import ConfigError

Domain: TypeAlias = Literal[
    "code", "math", "medical", "legal", "finance", "creative", "translation", "factual", "general"
]
# Order matters only for ties: the more specific domain (earlier) wins over factual/general.
DOMAINS: tuple[Domain, ...] = (
    "code", "math", "medical", "legal", "finance", "creative", "translation", "factual", "general"
)

_LANGUAGES = (
    "english|spanish|french|german|italian|portuguese|japanese|chinese|mandarin|cantonese|korean|arabic|"
    "russian|hindi|dutch|greek|turkish|vietnamese|polish|czech|hungarian|swahili|swedish|norwegian|danish|"
    "finnish|hebrew|thai|indonesian|latin|ukrainian|romanian|bengali|urdu|persian|farsi|tagalog|catalan"
)
_OPERATOR = r"[\^=+*/×÷<>%]"
_OPERAND = r"(?:[0-9)\]]|(?<![a-z])[a-z])"


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())

# Regex rules, run on the lower-cased text (``code.syntax`` on the original: CamelCase is its signal).
# Each alternative starts with a literal character so the engine can skip ahead instead of trying every
# position. Rules in ANCHORED_RULES only look at the start of the request.
PATTERNS: Mapping[str, str] = {
    "code.task": r"(?:write|implement|create|build|debug|optimi[sz]e|code)\b[^.?!\n]{0,40}?"
    r"\b(?:function|method|class|script|program|query|regex|unit tests?|endpoint|algorithm|module|"
    r"decorator|api|component|lambda)\b",
    "code.symbols": r"c\+\+|c#|\.net\b|node\.js|\.(?:py|js|ts|jsx|tsx|cpp|rs|java|sh|csv|json)\b",
    "code.syntax": r"def \w+\(|=>|\(\)|import \w+|#include|console\.log|print\(|\.\w+\(|"
    r"_(?<=\w_)[A-Za-z]|Error\b|Exception\b|const \w|\^\\|\{\}",
    # An operator between numbers, single-letter variables or brackets: "3x + 7 = 22", "x^2", "1/x",
    # but not "ng/ml" or "and/or".
    "math.expression": _OPERATOR + r"(?:(?<=" + _OPERAND + _OPERATOR + r")|(?<=" + _OPERAND + " " + _OPERATOR
    + r"))\s*(?:[0-9(\[]|[a-z](?![a-z]))|%\s*of\b",
    "math.function": r"(?:sin|cos|tan|log|ln|exp|sqrt)\s*\(",
    "legal.question": r"(?:is it|is this|is that|are they|am i) (?:legal|illegal|lawful|allowed)\b|"
    r"can (?:my|the|a|an|i) \w+ (?:legally|sue|evict|enter)\b|(?:be|get) sued\b",
    "finance.money": r"\$ ?\d|€ ?\d|£ ?\d",
    "creative.task": r"(?:write|compose|create|craft|draft|give me|come up with|describe|tell me|invent|"
    r"brainstorm)\b[^.?!\n]{0,60}?\b(?:poems?|poetry|story|stories|tale|fable|fairy tale|haiku|limerick|"
    r"sonnet|villanelle|ode|lyrics|song|verse|novel|chapter|scene|fiction|slogan|tagline|plot|characters?|"
    r"joke|riddle|rhyme|writing prompt|dialogue|monologue|speech|toast|love letter|legend|creature|names|"
    r"world)\b",
    "translation.task": r"translat\w*|tradu\w+|übersetz\w*",
    "translation.say": r"how (?:do|would|can|should) (?:you|i|we|one) say\b|"
    r"what (?:does|is) ['\"“‘][^'\"”’]{1,40}['\"”’] mean\b|meaning of the (?:word|phrase)\b",
    "translation.language": r"(?:into|to|in|from)(?: \w+)? (?:" + _LANGUAGES + r")\b|"
    r"(?:" + _LANGUAGES + r") (?:word|phrase|term|expression|equivalent|translation) for\b",
    # Non-Latin scripts (Cyrillic, Hebrew, Arabic, Devanagari, kana, CJK, Hangul) next to English.
    "translation.script": r"[\u0400-\u04FF\u0590-\u06FF\u0900-\u097F\u3040-\u30FF\u3400-\u9FFF\uAC00-\uD7AF]",
    "factual.mcq": r"\n[a-d]\) ",
    # Who/when/where ask for a person, a date or a place: facts. "What is/how does" is weaker evidence.
    "factual.who_when_where": r"\s*(?:who|when|where)\b",
    # ... unless it asks about the user ("how do I", "what should I") or for suggestions ("what are some").
    "factual.question": r"\s*(?:which\b|(?:what|why|how) (?:is|are|was|were|does|do|did)\b"
    r"(?! (?:i|we|you|my|some)\b))",
    "general.howto": r"how (?:do|can|should|would|often should) (?:i|we)\b",
    "general.chat": r"\s*(?:hi|hello|hey|good (?:morning|afternoon|evening)|thanks|thank you)\b",
}
ANCHORED_RULES = frozenset({"factual.who_when_where", "factual.question", "general.chat"})
CASE_SENSITIVE_RULES = frozenset({"code.syntax"})
# A pattern runs only when one of its gate words is among the request's words: a set test costs far less
# than a regex scan, and most requests match few rules.
PATTERN_GATES: Mapping[str, frozenset[str]] = {
    "code.task": _wordset(
        "function method class script program query regex test tests endpoint algorithm module decorator api "
        "component lambda"
    ),
    "code.symbols": _wordset("c net node js py ts jsx tsx cpp rs java sh csv json"),
    "math.function": _wordset("sin cos tan log ln exp sqrt"),
    "legal.question": _wordset("legal illegal lawful allowed legally sue sued evict enter"),
    "general.howto": _wordset("how"),
    "creative.task": _wordset(
        "poem poems poetry story stories tale fable fairy haiku limerick sonnet villanelle ode lyrics song "
        "verse novel chapter scene fiction slogan plot character characters joke riddle rhyme writing dialogue "
        "monologue speech toast letter legend creature names world tagline"
    ),
    "translation.say": _wordset("say mean meaning"),
    "translation.language": frozenset(_LANGUAGES.split("|")),
}

# Vocabulary rules: single words or two-word phrases, lower case. "stem*" also matches the usual endings
# (stem + s, ed, ing, er, ion, ment, ...); irregular forms are listed explicitly.
VOCABULARY: Mapping[str, tuple[str, ...]] = {
    "code.tech": (
        "python", "javascript", "typescript", "java", "rust", "golang", "ruby", "php", "kotlin", "swift", "scala",
        "bash", "shell", "sql", "html", "css", "react", "django", "pandas", "numpy", "docker", "kubernetes", "git",
        "github", "linux", "json", "yaml", "regex", "compiler", "api", "npm", "pip", "vs code", "vscode",
        "postgres", "postgresql", "mysql", "c program",
    ),
    "code.term": (
        "function", "functions", "array", "arrays", "string", "strings", "boolean",
        "loop", "loops", "recurs*", "compil*", "runtime", "stack trace", "traceback", "segmentation fault",
        "segfault", "null pointer", "syntax error", "debug", "debugging", "debugger", "deploy*", "repository",
        "pull request", "unit test", "unit tests", "algorithm*", "data structure", "linked list",
        "binary search", "hashmap", "hash map", "list comprehension", "closure", "closures", "thread", "threads",
        "database*",
        "endpoint*", "framework*", "div", "dataframe*", "big o", "coding", "programming", "programmer*",
        "software", "source code", "codebase", "variable name",
    ),
    "math.task": (
        "solve", "simplify", "factorize", "factorise", "integrate", "differentiate", "prove", "evaluate",
        "compute", "calculate",
    ),
    "math.term": (
        "equation*", "polynomial*", "quadratic", "derivative*", "integral*", "limit of", "matrix", "matrices",
        "vector*", "probability", "permutation*", "combination*", "factorial", "prime", "primes", "theorem*",
        "lemma", "proof", "logarithm*", "square root", "square roots", "fraction*", "decimal*", "sum of",
        "average", "the mean", "mean of", "median", "area of", "perimeter", "circumference", "radius", "triangle*",
        "angle*",
        "geometry", "algebra*", "calculus", "divisible", "remainder", "modulo", "infinity", "percent*",
        "arithmetic", "multiply", "divided by", "integer", "integers", "many ways",
    ),
    # Only the cue of the word-problem feature (see DomainSettings.word_problem_min_numbers); not scored.
    "math.quantity": (
        "how many", "how much", "how long", "how far", "how old", "how fast", "total", "average", "altogether",
        "in all", "remaining",
    ),
    "medical.term": (
        "symptom*", "diagnos*", "diagnostic", "doctor*", "physician", "nurse", "hospital", "clinic", "patient*",
        "medication*", "medicine*", "prescribe", "prescribed", "prescription*", "dose*", "dosage", "side effect",
        "side effects", "treatment*", "treated", "therap*", "surgery", "vaccine*", "vaccination*", "infection*",
        "virus", "bacterial", "antibiotic*", "fever", "pain", "ache", "aches", "headache*", "migraine*",
        "cough", "rash", "nausea", "dizzy", "dizziness", "fatigue", "blood pressure", "blood sugar",
        "cholesterol", "diabetes", "cancer", "tumor", "tumour", "asthma", "allergy", "allergies", "allergic",
        "arthritis", "pregnant", "pregnancy", "anxiety", "depression", "fracture", "burn", "flu", "blood test",
        "mri", "x ray", "colonoscopy", "hypothyroidism", "thyroid", "toddler", "mg", "chest pain", "health",
        "nutrition", "calories", "medical", "clinical", "ibuprofen", "acetaminophen", "paracetamol", "aspirin",
        "tylenol", "advil", "insulin", "opioid*", "stroke", "warning signs", "concussion", "liver", "metformin",
        "interact", "tetanus", "vitamin", "vitamins", "ng", "heart rate", "bpm", "breastfeeding", "treat",
    ),
    "legal.term": (
        "law", "laws", "legal", "legally", "illegal", "illegally", "lawyer*", "attorney*", "court*", "judge*",
        "sue", "sued", "suing", "lawsuit*", "litigation", "contract*", "clause*", "liable", "liability",
        "landlord*", "tenant*", "lease*", "eviction", "evict", "copyright*", "trademark*", "patent*",
        "defamation", "libel", "slander", "divorce", "alimony", "a will", "probate", "police", "arrest*",
        "rights", "statute*", "regulation*", "hipaa", "felony", "misdemeanor", "misdemeanour", "criminal",
        "prosecut*", "plaintiff", "defendant", "breach", "nda", "non disclosure", "restraining order",
        "small claims", "bankruptcy", "jurisdiction", "negligence", "agreement*", "prenup", "prenuptial",
        "offense", "offence", "employment contract", "wrongful termination", "employer", "fire me", "fired",
        "cease", "desist", "gdpr", "lawful", "custody", "contempt", "motion", "hoa", "fair use",
    ),
    "finance.term": (
        "invest*", "stock*", "shares", "bond*", "etf", "etfs", "index fund", "mutual fund", "hedge fund",
        "portfolio*", "dividend*", "ira", "roth", "401 k", "retirement", "pension*", "mortgage*", "refinanc*",
        "loan*", "interest rate", "interest rates", "compound interest", "apr", "credit score", "credit card",
        "credit cards", "debt*", "budget*", "savings", "saving", "emergency fund", "tax*", "capital gains",
        "inflation", "recession", "the fed", "federal reserve", "market cap", "market capitalization",
        "revenue*", "profit*", "margin*", "cash flow", "balance sheet", "income statement", "valuation*",
        "crypto", "cryptocurrency", "bitcoin", "diversif*", "stock market", "asset allocation", "net worth",
        "paycheck", "heloc", "finance*", "financial", "usd", "eur", "dollar cost", "p e", "ebitda", "net income",
        "analysts", "income", "utilization", "yield curve", "closing costs", "withdrawals", "hsa", "brokerage",
        "bull market", "bear market",
    ),
    "creative.term": (
        "poem*", "poetry", "poetic", "story", "fiction", "novel", "character*", "plot", "narrative", "rhyme*",
        "lyrics", "haiku", "sonnet", "limerick", "fairy tale", "hero", "protagonist", "vivid", "imaginative",
        "creative", "metaphor*", "whimsical", "alien", "wizard", "princess", "style of", "once upon", "catchy",
        "fantasy", "kingdom", "kingdoms", "mythological", "villain", "sitcom", "quirky", "voice of", "pirate",
    ),
    "factual.term": (
        "population", "planet*", "solar system", "earth", "moon", "sun", "star", "stars", "galaxy", "atom*",
        "molecule*", "element*", "chemical", "photosynthesis", "cell", "cells", "dna", "gene", "genes",
        "evolution", "species", "gravity", "energy", "force", "forces", "electricity", "magnet*", "temperature*",
        "climate", "weather", "volcano*", "earthquake*", "rock", "rocks", "mineral*", "fossil*", "ecosystem*",
        "organism*", "animal*", "history", "war", "empire", "century", "president", "king", "queen",
        "discovered", "scientist*", "painted", "author", "continent", "country", "ocean", "river", "mountain",
        "desert", "boiling point", "experiment*", "student*", "investigation", "erosion", "orbit*", "light",
        "sound", "water", "spoken", "invented", "built", "made of", "largest", "longest",
    ),
    "general.assist": (
        "help me", "you help", "tips", "advice", "idea", "ideas", "recommend*", "suggest*", "plan", "routine",
        "checklist", "to do", "recipe*", "lunch", "breakfast", "organize", "organise", "productive",
        "productivity", "hobby", "weekend", "vacation", "trip", "travel", "note", "resume", "cover letter",
        "friend", "friends", "houseplant*", "movies", "podcast*", "small talk", "networking", "pack", "fun",
        "kids", "rewrite", "professional", "politely", "wedding", "invitation", "guitar", "icebreaker", "team",
        "meeting", "plant",
    ),
    # First-person phrasing separates "how often should I water my plant" from encyclopaedia questions.
    "general.personal": ("should i", "can i", "do i", "i'm", "my"),
}

# Drug-class name endings (-cillin, -pril, -statin, -olol, ...): standard pharmacology naming.
DRUG_SUFFIXES = (
    "cillin", "mycin", "cycline", "pril", "sartan", "statin", "olol", "prazole", "oxetine", "triptan", "dipine",
    "olone", "azepam",
)
_INFLECTIONS = (
    "", "s", "es", "ed", "d", "ing", "er", "ers", "or", "ors", "ion", "ions", "ation", "ations", "ment", "ments",
    "al", "ally", "ic", "ics", "ical", "tic", "tics", "y", "ies", "ist", "ists", "ive", "ity", "e", "is", "ous",
    "ence", "ent", "ents", "ant", "ants", "ure", "ures", "ization",
)
_NUMBER_WORDS = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty",
    "thirty", "forty", "fifty", "hundred", "thousand", "half", "twice", "double", "triple", "dozen", "third",
    "quarter",
))
_TOKEN = r"[a-z0-9]+(?:'(?!s\b)[a-z]+)?"  # "i'm" and "don't" stay whole; "gdpr's" is "gdpr"


def _default_weights() -> dict[str, float]:
    return {
        # Explicit task verbs name the job regardless of topic, so they outweigh several topic words.
        "code.task": 4.5,
        "creative.task": 4.0,
        "translation.task": 6.0,
        "translation.say": 4.0,
        # Languages, scripts and technologies are strong but not decisive on their own.
        "translation.language": 2.0,
        "translation.script": 2.0,
        "code.tech": 1.5,
        "code.symbols": 1.5,
        "code.syntax": 2.0,
        "math.expression": 2.0,
        "math.function": 2.0,
        # A quantity question over several numbers is the shape of a word problem, whatever it is about.
        "math.word_problem": 3.5,
        # Topic vocabulary: each distinct term adds a little; the hit cap keeps long prompts from running away.
        "code.term": 1.0,
        "math.task": 1.5,
        "math.term": 1.0,
        "math.quantity": 0.0,
        "medical.term": 1.5,
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
    max_chars: int = 4000
    """Only the first characters are scanned: the task is stated up front, and cost stays bounded."""

    def __post_init__(self) -> None:
        for rule_id, weight in self.weights.items():
            if rule_id not in RULE_IDS:
                raise ConfigError(f"DomainSettings.weights[{rule_id!r}]", f"unknown rule; known: {sorted(RULE_IDS)}")
            _check_number(f"DomainSettings.weights[{rule_id!r}]", weight)
        for name in ("max_hits_per_rule", "word_problem_min_numbers", "max_chars"):
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
        self._vocabulary = _VocabularyIndex(VOCABULARY, self._token)
        self._drug_hint = re.compile("|".join(DRUG_SUFFIXES))

    def detect(self, text: str) -> DomainResult:
        """Classify one request text (usually the last user message)."""
        sample = text[: self.settings.max_chars]
        lower = sample.lower().replace("’", "'")
        tokens = self._token.findall(lower)
        words = set(tokens)
        hits: dict[str, list[str]] = {}
        for form in self._vocabulary.match(tokens, words):
            for rule_id in self._vocabulary.rules[form]:
                hits.setdefault(rule_id, []).append(form)
        self._match_patterns(sample, lower, words, hits)
        if self._drug_hint.search(lower) is not None:  # cheap C scan before the per-word check
            drugs = sorted({t for t in words if len(t) >= _MIN_DRUG_NAME and t.endswith(DRUG_SUFFIXES)})
            if drugs:
                hits["medical.drug"] = drugs
        if "math.quantity" in hits and self._counts_numbers(tokens):
            hits["math.word_problem"] = ["quantity question over numbers"]
        return self._decide(hits)

    def _match_patterns(self, sample: str, lower: str, words: set[str], hits: dict[str, list[str]]) -> None:
        cap = self.settings.max_hits_per_rule
        for pattern in self._patterns:
            if pattern.gate is not None and pattern.gate.isdisjoint(words):
                continue
            if pattern.rule_id == "translation.script" and lower.isascii():
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

    def _counts_numbers(self, tokens: list[str]) -> bool:
        needed = self.settings.word_problem_min_numbers
        seen = 0
        for token in tokens:
            if token.isdigit() or token in _NUMBER_WORDS:
                seen += 1
                if seen >= needed:
                    return True
        return False

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
