"""A ``.env`` file next to the app, read without a new dependency (the quickstart's ``echo "OPENAI_API_KEY=..." >>
.env``).

Precedence: the real environment wins. A variable already set (even to an empty string) is never replaced, so
a container's or CI's environment always beats a file someone left in the working directory. Files searched, in
order, the first value of a name winning: ``.env`` in the current directory, then ``.env`` beside the script that
was run (``python path/to/app.py``). Read when an agent is built (``CascadeAgent(env_file=...)``, default
``".env"``) or by :func:`load_dotenv` — never at import.

Syntax (the common subset of python-dotenv and docker's env files): ``KEY=value`` lines, optional ``export``
prefix, ``#`` comments (whole line, or after an unquoted value following a space), single-quoted values taken
literally, double-quoted values with ``\\n``, ``\\t``, ``\\"`` and ``\\\\`` escapes. No variable expansion: a
value is what the file says. A malformed line is a :class:`ConfigError` naming the file and line (a silently
skipped line would leave a key unset, failing far from the cause); values never appear in messages.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from cascadeflow.errors import ConfigError

DEFAULT_FILE: Final = ".env"
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ESCAPES: Final = MappingProxyType({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"})


def _unquote(raw: str, where: str) -> str:
    value = raw.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        while quote == '"' and end > 0 and value[end - 1] == "\\" and not value[:end].endswith("\\\\"):
            end = value.find(quote, end + 1)
        if end < 0:
            raise ConfigError(where, f"unterminated {quote} quote")
        rest = value[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise ConfigError(where, "unexpected text after the closing quote")
        inner = value[1:end]
        if quote == "'":
            return inner
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), inner)
    comment = re.search(r"\s#", value)
    return (value[: comment.start()] if comment else value).strip()


def parse_dotenv(text: str, *, source: str = DEFAULT_FILE) -> dict[str, str]:
    """``KEY=value`` pairs of one file's text, in file order (a repeated name: the later line wins)."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}:{number}"
        if stripped.startswith("export "):
            stripped = stripped[len("export "):].lstrip()
        name, sep, raw = stripped.partition("=")
        name = name.strip()
        if not sep or not _NAME_RE.fullmatch(name):
            raise ConfigError(where, "expected NAME=value (the value is not shown)")
        values[name] = _unquote(raw, where)
    return values


def default_paths() -> tuple[Path, ...]:
    """``.env`` in the working directory, then beside the script that was run (when that is elsewhere)."""
    paths = [Path.cwd() / DEFAULT_FILE]
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(main, str):
        beside = Path(main).resolve().parent / DEFAULT_FILE
        if beside != paths[0].resolve():
            paths.append(beside)
    return tuple(paths)


def read_dotenv(paths: Iterable[str | Path] | str | Path | None = None) -> dict[str, str]:
    """The values of the files that exist among ``paths`` (default :func:`default_paths`); earlier files win."""
    if paths is None:
        candidates: tuple[Path, ...] = default_paths()
    elif isinstance(paths, str | Path):
        candidates = (Path(paths),)
    else:
        candidates = tuple(Path(p) for p in paths)
    merged: dict[str, str] = {}
    for path in candidates:
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), f"cannot read the env file: {type(exc).__name__}") from None
        for name, value in parse_dotenv(text, source=str(path)).items():
            merged.setdefault(name, value)
    return merged


def load_dotenv(
    paths: Iterable[str | Path] | str | Path | None = None, *, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Copy the files' values into ``environ`` (default ``os.environ``) for names it does not hold yet; return
    what was set. The real environment wins, always."""
    target = os.environ if environ is None else environ
    applied = {name: value for name, value in read_dotenv(paths).items() if name not in target}
    target.update(applied)
    return applied
