"""``cascadeflow.init`` / ``cascadeflow.run`` / ``@cascadeflow.agent`` / ``cascadeflow.stats``.

    harness = cascadeflow.init(mode="observe")          # "off" | "observe" | "enforce"; default: $CASCADEFLOW_MODE
    with cascadeflow.run(budget=0.50, compliance="gdpr") as session:
        await agent.run(query)
    session.summary(); session.trace()

``init()`` builds a :class:`Harness` — a handle to hold, close and replace — and makes it the process's current
one (the one ``cascadeflow.run()`` uses); with ``instrument=("openai", "anthropic")`` calls made directly with
those SDKs inside a run are governed too. A run is a :class:`RunSession` made active for its block (``with`` or
``async with``); runs nest (an inner run's calls count against the outer's budget) and stay apart between
concurrent asyncio tasks and threads (context variables). In ``off`` mode nothing is tracked.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, ParamSpec, TypeVar

from cascadeflow.cascade.hooks import activate, deactivate
from cascadeflow.errors import ConfigError
from cascadeflow.harness.decisions import MODES, Decision, Mode
from cascadeflow.harness.session import RunSession
from cascadeflow.harness.stats import RunStats
from cascadeflow.policies.build import build_policies, check_arguments

MODE_ENV: Final = "CASCADEFLOW_MODE"
DEFAULT_MODE: Final[Mode] = "observe"
"""The rollout guide's first stage: track everything, enforce nothing."""
INSTRUMENTABLE: Final = ("openai", "anthropic")

P = ParamSpec("P")
T = TypeVar("T")


def resolve_mode(mode: str | None, environ: Mapping[str, str] | None = None) -> Mode:
    """``mode``, else ``$CASCADEFLOW_MODE``, else ``observe``; anything else is a ConfigError naming the value."""
    raw = mode if mode is not None else (os.environ if environ is None else environ).get(MODE_ENV, DEFAULT_MODE)
    value = str(raw).strip().lower()
    if value not in MODES:
        source = "mode" if mode is not None else MODE_ENV
        raise ConfigError(source, f"must be one of {', '.join(MODES)}, got {raw!r}")
    return value


class Harness:
    """A process's governance settings: the mode, what is instrumented, decision subscribers, run statistics."""

    def __init__(self, mode: Mode, *, instrument: Iterable[str] = (),
                 on_decision: Callable[[Decision], None] | None = None) -> None:
        self.mode: Mode = mode
        self.stats = RunStats()
        self._subscribers: list[Callable[[Decision], None]] = [] if on_decision is None else [on_decision]
        self._instrumented: list[Callable[[], None]] = []
        self.closed = False
        for name in instrument:
            self._instrument(name)

    def _instrument(self, name: str) -> None:
        if name not in INSTRUMENTABLE:
            raise ConfigError("instrument", f"can instrument {', '.join(INSTRUMENTABLE)}, got {name!r}")
        from cascadeflow.harness.instrument import instrument_sdk

        undo = instrument_sdk(name)
        if undo is not None:
            self._instrumented.append(undo)

    def subscribe(self, callback: Callable[[Decision], None]) -> None:
        """Call ``callback`` with every decision of every run (e.g. to alert on ``stop``)."""
        self._subscribers.append(callback)

    def _notify(self, decision: Decision) -> None:
        for callback in self._subscribers:
            callback(decision)

    def _session(self, kwargs: Mapping[str, Any]) -> RunSession:
        known = self.stats.latency_ms() if kwargs.get("time_budget_ms") is not None else None
        budget, policies = build_policies(**{k: v for k, v in kwargs.items() if k not in ("name", "user_id")},
                                          known_latency_ms=known)
        return RunSession(mode=self.mode, policies=policies, budget=budget, name=kwargs.get("name"),
                          user_id=kwargs.get("user_id"), on_decision=self._notify if self._subscribers else None)

    def run(self, **policies: Any) -> RunContext:
        """A governed run (``with`` or ``async with``); see the module docstring for the arguments."""
        return RunContext(self, policies)

    def agent(self, **policies: Any) -> Callable[[Callable[P, T]], Callable[P, T]]:
        """Decorate a function (sync or async): each call is a run with these policies, named after it."""
        return _decorator(lambda: self, policies)

    def close(self) -> None:
        """Undo the SDK instrumentation; if this is the current harness, there is none afterwards."""
        for undo in reversed(self._instrumented):
            undo()
        self._instrumented.clear()
        self.closed = True
        _CURRENT.clear(self)


class RunContext:
    """``with``/``async with`` one run: enter makes its session active (``off`` mode: a session that sees
    nothing), exit deactivates it and adds it to the harness's statistics."""

    __slots__ = ("_harness", "_policies", "_session", "_token")

    def __init__(self, harness: Harness, policies: Mapping[str, Any]) -> None:
        check_arguments(policies)
        self._harness = harness
        self._policies = policies
        self._session: RunSession | None = None
        self._token: Any = None

    def __enter__(self) -> RunSession:
        session = self._session = self._harness._session(self._policies)
        if self._harness.mode != "off":
            self._token = activate(session)
        return session

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        session = self._session
        if session is None or self._token is None:
            return
        deactivate(self._token)
        self._token = None
        if exc is not None:
            session.error = f"{type(exc).__name__}: {exc}"
        session.ended = time.monotonic()
        self._harness.stats.add(session)

    async def __aenter__(self) -> RunSession:
        return self.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(kind, exc, tb)


class _Current:
    """The process's current harness: the one ``cascadeflow.run()`` and ``@cascadeflow.agent`` use. Process-wide
    on purpose (``init()`` at start-up must govern every thread); :func:`reset` clears it (tests do)."""

    def __init__(self) -> None:
        self._harness: Harness | None = None
        self._lock = threading.Lock()

    def get(self) -> Harness:
        with self._lock:
            if self._harness is None or self._harness.closed:
                self._harness = Harness(resolve_mode(None))  # run() before init(): the environment's mode
            return self._harness

    def set(self, harness: Harness) -> None:
        with self._lock:
            previous, self._harness = self._harness, harness
        if previous is not None and previous is not harness and not previous.closed:
            previous.close()

    def clear(self, harness: Harness | None = None) -> None:
        with self._lock:
            if harness is None or self._harness is harness:
                self._harness = None


_CURRENT: Final = _Current()


def init(mode: str | None = None, *, instrument: Iterable[str] = INSTRUMENTABLE,
         on_decision: Callable[[Decision], None] | None = None) -> Harness:
    """Make a harness with ``mode`` (default ``$CASCADEFLOW_MODE``, else ``observe``) the current one and return
    it. ``instrument``: SDKs whose calls inside a run are governed too (skipped when not installed)."""
    if isinstance(instrument, str) or not isinstance(instrument, Iterable):
        raise ConfigError("instrument", f"must be a list of SDK names, got {instrument!r}")
    resolved = resolve_mode(mode)
    reset()  # the previous harness undoes its instrumentation before the new one patches the SDKs
    harness = Harness(resolved, instrument=tuple(instrument), on_decision=on_decision)
    _CURRENT.set(harness)
    return harness


def current() -> Harness:
    return _CURRENT.get()


def reset() -> None:
    """Close the current harness (undoing its instrumentation) and forget it."""
    harness = _CURRENT._harness
    if harness is not None:
        harness.close()
    _CURRENT.clear()


def run(**policies: Any) -> RunContext:
    """A governed run under the current harness (see :meth:`Harness.run`)."""
    return RunContext(_CURRENT.get(), policies)


def agent(**policies: Any) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate an agent function: each call is a run with these policies, under the harness current at the
    time of the call (so a decorator applied at import governs under a later ``init()``)."""
    return _decorator(_CURRENT.get, policies)


def _decorator(harness: Callable[[], Harness], policies: Mapping[str, Any]) -> Callable[[Callable[P, T]],
                                                                                         Callable[P, T]]:
    check_arguments(policies)

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        settings = {**policies, "name": policies.get("name") or getattr(fn, "__qualname__", repr(fn))}
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                async with harness().run(**settings):
                    return await fn(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run_sync(*args: P.args, **kwargs: P.kwargs) -> T:
            with harness().run(**settings):
                return fn(*args, **kwargs)

        return run_sync

    return decorate


def stats() -> dict[str, Any]:
    """Cross-run statistics of the current harness (see :class:`~cascadeflow.harness.stats.RunStats`)."""
    return _CURRENT.get().stats.summary()


__all__ = ["Harness", "RunContext", "agent", "current", "init", "reset", "run", "stats"]
