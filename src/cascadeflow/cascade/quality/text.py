"""Small, fast text helpers shared by the quality checks and the complexity detector.

Everything here runs on the hot path of every cascade step, so regexes are compiled once at import and the
helpers avoid building large temporary structures (a typical answer is checked in a few microseconds).
"""

from __future__ import annotations

import re
from typing import Final

_PUNCTUATION: Final = b"!\"#$%&()*+,./:;<=>?@[\\]^_`{|}~"
_PUNCT_TO_SPACE: Final = bytes.maketrans(_PUNCTUATION, b" " * len(_PUNCTUATION))
"""Byte-level table: ~10x faster than ``str.translate`` or a word regex, and safe on UTF-8 because multi-byte
sequences never contain ASCII bytes. Hyphens and apostrophes stay, so "lock-free" and "don't" are one word."""

FENCE_RE: Final = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
"""A fenced code block: group 1 is the language tag (may be empty), group 2 the code. An unclosed fence
(a truncated answer) runs to the end of the text."""

PYTHON_TAGS: Final = frozenset({"python", "py", "python3", "py3", "ipython", "pycon"})

PYTHON_LINE_RE: Final = re.compile(
    r"^[ \t]*(?:def \w+\s*\(|class \w+|import \w|from [\w.]+ import |"
    r"(?:for|while|if|elif|with|try|else|except)\b[^\n]*:[ \t]*$)",
    re.M,
)
"""A line that only Python would write; used to spot unfenced code in prompts and answers."""

STEM_CHARS: Final = 5
"""Words are compared by their first five letters (after stripping a plural/verb suffix): enough to tell
topics apart, loose enough that "converts" meets "conversion" and "chemical" meets "chemistry"."""

_STOPWORD_TEXT: Final = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each either else etc even ever every
    few for from further get gets getting give given go going got had has have having he her here hers him
    his how however i if in into is it its itself just let lets like make makes many may me might mine more
    most much must my myself need needs no nor not now of off often on once one only or other our ours out
    over own per please quite rather really same say says shall she should show so some such tell than that
    the their theirs them then there these they thing things this those though through to too under until
    up upon us use used using very via want was we well were what whatever when where whether which while
    who whom whose why will with within without would yes yet you your yours yourself
    explain describe briefly detail details example examples answer question help know think way ways
    write list give provide don doesn didn isn aren wasn weren won wouldn shouldn couldn can haven hasn
"""
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())
"""Function words, question words and instruction verbs: they say how to answer, not what about."""

_MIN_STEM: Final = 3  # never strip a suffix down to fewer letters than this ("uses" -> "use", not "us")


def words_of(text: str) -> list[str]:
    """Split text into words at whitespace and punctuation (apart from inner ``-`` and ``'``)."""
    if not text.isascii():
        text = text.replace("’", "'").replace("“", " ").replace("”", " ")
    return text.encode(errors="surrogatepass").translate(_PUNCT_TO_SPACE).decode(errors="surrogatepass").split()


def stem(word: str) -> str:
    """Stemming-lite: strip one plural or verb suffix, then keep :data:`STEM_CHARS` letters.

    Stems are matched as word *prefixes*, so over-stripping is harmless ("bones" -> "bon" still starts "bone").
    """
    n = len(word)
    if word.endswith("s"):
        if word.endswith("ies") and n - 2 > _MIN_STEM:
            return (word[:-3] + "y")[:STEM_CHARS]
        if word.endswith("es") and n - 2 >= _MIN_STEM:
            return word[: min(n - 2, STEM_CHARS)]
        if not word.endswith("ss") and n - 1 >= _MIN_STEM:
            return word[: min(n - 1, STEM_CHARS)]
    elif word.endswith("ing") and n - 3 >= _MIN_STEM:
        return word[: min(n - 3, STEM_CHARS)]
    elif word.endswith("ed") and n - 2 >= _MIN_STEM:
        return word[: min(n - 2, STEM_CHARS)]
    return word[:STEM_CHARS]


def content_stems(lowered: str) -> list[str]:
    """Distinct stems of the content words (no stopwords, no bare numbers) of lower-cased text, in order."""
    tokens = words_of(lowered)
    if "'" in lowered or "-" in lowered:  # "newton's" -> "newton", "don't" -> "don" (a stopword), "-x" -> "x"
        tokens = [t.split("'", 1)[0].strip("-") for t in tokens]
    kept = [stem(w) for w in tokens if len(w) > 1 and w not in STOPWORDS and not w[0].isdigit()]
    return list(dict.fromkeys(kept))


def starts_a_word(lowered: str, stem_: str) -> bool:
    """True when ``stem_`` occurs in ``lowered`` at the start of a word (so "cat" does not match "locate")."""
    i = lowered.find(stem_)
    while i >= 0:
        if i == 0 or not lowered[i - 1].isalnum():
            return True
        i = lowered.find(stem_, i + 1)
    return False


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block; empty when the text has no fence."""
    if "```" not in text:
        return []
    return [(m.group(1).lower(), m.group(2)) for m in FENCE_RE.finditer(text)]


def strip_fences(text: str) -> str:
    """The prose of ``text`` with fenced code blocks removed."""
    return FENCE_RE.sub(" ", text) if "```" in text else text


def python_syntax_error(code: str) -> str | None:
    """None when ``code`` parses as Python, else a one-line description of the syntax error."""
    import ast  # only answers and prompts that contain code pay for the import

    try:
        ast.parse(code)
    except SyntaxError as exc:
        return exc.msg if exc.lineno is None else f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError) as exc:  # null bytes; expressions nested beyond the parser's limits
        return f"{type(exc).__name__}: {exc}"
    return None


_PAIRS: Final = (("(", ")"), ("[", "]"), ("{", "}"))


def brackets_balanced(code: str) -> bool:
    """Cheap structural check for languages we cannot parse: every bracket kind opens as often as it closes."""
    return all(code.count(a) == code.count(b) for a, b in _PAIRS)
