"""Compare code answers by what they *do*: run them on the inputs their own examples use, compare the results.

Two models rarely write the same function text, so comparing code by its (normalised) AST almost never finds
agreement. Here every answer's entry function is called on the example inputs that any of the compared
answers' own "example usage" code passes to it, and two answers agree when they return the same values (or
raise the same exception types) on every input either of them gave. On RouterBench MBPP this finds agreement
far more often than the AST comparison, and agreement that predicts correctness (docs/benchmarks.md).

**Safety.** This runs model-written code, each answer in its own bubblewrap sandbox
(:mod:`~cascadeflow.cascade.quality.sandbox`: no network, no other process, no file of the host but the Python
installation, a private tmpfs, limits on CPU, memory, processes and output). Each sandbox reports only its own
answer's results; the comparison happens here, so an answer cannot forge the verdict. Without a usable sandbox
nothing runs: building the validator raises :class:`~cascadeflow.errors.ConfigError`. It is still off unless
asked for (:class:`BehaviourAgreementValidator`, ``agreement: {execute: true}`` in a plan, ``cascadeflow
calibrate --execute-code``). docs/sandbox.md has the threat model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from cascadeflow.cascade.quality.agreement import (
    AgreementValidator,
    agreement_verdict,
    detect_kind,
    extract_python,
    from_peer,
)
from cascadeflow.cascade.quality.base import ValidationContext, Verdict, previous_drafts
from cascadeflow.cascade.quality.sandbox import Sandbox, SandboxLimits
from cascadeflow.types import Completion, CompletionRequest

CHILD: Final = Path(__file__).with_name("code_exec_child.py")
_ERROR_PREFIX: Final = "error:"
_MB: Final = 1024 * 1024
_CACHED_CLAIM_CHARS: Final = 16_384
"""Claims up to this size are remembered (the cache stays small whatever the answers return)."""
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ExecutionLimits:
    """Bounds on running one answer (each answer runs in its own sandbox, twice when others gave inputs)."""

    wall_s: float = 20.0
    """One sandboxed run of one answer; everything in its sandbox is killed after this."""
    call_timeout_s: float = 1.0
    """One definition block, one example block or one call of an entry function."""
    cpu_s: int = 20
    memory_mb: int = 1024
    max_inputs: int = 4
    """Inputs harvested per answer (its first example calls)."""
    max_input_chars: int = 20_000
    """Longest ``repr`` of one harvested input; longer ones are not shared."""
    max_signature_chars: int = 2_000
    """Longest ``repr`` of a result reported as is; longer ones are reported as their sha256."""
    max_output_bytes: int = _MB
    """Stdout read from one run at most; an answer that writes more fails."""
    max_processes: int = 8
    file_mb: int = 1
    tmp_mb: int = 16

    def sandbox_limits(self) -> SandboxLimits:
        return SandboxLimits(wall_s=self.wall_s, cpu_s=self.cpu_s, memory_mb=self.memory_mb, file_mb=self.file_mb,
                             tmp_mb=self.tmp_mb, max_processes=self.max_processes,
                             max_output_bytes=self.max_output_bytes)


@dataclass(frozen=True, slots=True)
class BehaviourReport:
    """What every answer's entry function returned on every harvested input."""

    inputs: tuple[str, ...] = ()
    harvested_by: tuple[frozenset[str], ...] = ()
    outputs: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)
    """Answers whose sandboxed run failed (timeout, crash, too much output, no report), and why."""

    @property
    def failure(self) -> str | None:
        """Every failed answer and why, in one line; None when every answer ran."""
        return "; ".join(f"{key}: {why}" for key, why in self.failures.items()) or None

    def agree(self, a: str, b: str) -> bool | None:
        """Whether answers ``a`` and ``b`` behave alike on every input either of them supplied: None when that
        cannot be decided (an answer has no callable entry or failed to run, no input comes from either, or
        every call of both failed)."""
        out_a, out_b = self.outputs.get(a), self.outputs.get(b)
        if out_a is None or out_b is None:
            return None
        shared = [i for i, keys in enumerate(self.harvested_by) if a in keys or b in keys]
        if not shared:
            return None
        mine, theirs = [out_a[i] for i in shared], [out_b[i] for i in shared]
        if all(s.startswith(_ERROR_PREFIX) for s in (*mine, *theirs)):
            return None
        return mine == theirs

    def describe(self, a: str, b: str) -> str:
        shared = sum(1 for keys in self.harvested_by if a in keys or b in keys)
        return f"{shared} example input{'s' if shared != 1 else ''}"


@dataclass(frozen=True, slots=True)
class _Claim:
    """One answer's report about itself, checked for shape (its content is the answer's word, nothing more)."""

    entry: bool
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _request(code: str, inputs: Sequence[str] | None, limits: ExecutionLimits) -> bytes:
    return json.dumps({
        "code": code, "inputs": None if inputs is None else list(inputs), "max_inputs": limits.max_inputs,
        "call_timeout_s": limits.call_timeout_s, "max_input_chars": limits.max_input_chars,
        "max_signature_chars": limits.max_signature_chars,
    }).encode()


def _strings(value: Any, most: int, longest: int) -> tuple[str, ...] | None:
    if not isinstance(value, list) or len(value) > most:
        return None
    if not all(isinstance(x, str) and len(x) <= longest for x in value):
        return None
    return tuple(value)


def _claim(stdout: bytes, inputs: Sequence[str] | None, limits: ExecutionLimits) -> _Claim | str:
    """The report on the last line of stdout, or why there is none usable."""
    lines = [line for line in stdout.decode(errors="replace").splitlines() if line.strip()]
    try:
        data: Any = json.loads(lines[-1]) if lines else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("entry"), bool):
        return "it printed no report"
    own = _strings(data.get("inputs"), limits.max_inputs, limits.max_input_chars)
    wanted = len(own or ()) if inputs is None else len(inputs)
    outputs = _strings(data.get("outputs"), wanted, limits.max_signature_chars + len("sha256:") + 64)
    if own is None or outputs is None or (data["entry"] and len(outputs) != wanted):
        return "its report was malformed"
    return _Claim(data["entry"], own, outputs if data["entry"] else ())


_RUNNING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    """One sandbox per CPU at a time, per event loop (a batch of 32 concurrent runs must not start 32 at once)."""
    loop = asyncio.get_running_loop()
    if loop not in _RUNNING:
        _RUNNING[loop] = asyncio.Semaphore(os.cpu_count() or 1)
    return _RUNNING[loop]


class BehaviourRunner:
    """Runs answers in a sandbox each and compares them here (built once: reads the runner program).

    It remembers the last ``cache_size`` small claims by their exact request (answer text, inputs, limits): a
    cascade compares the same earlier drafts again at every later tier, and a replay scores each draft twice."""

    __slots__ = ("_claims", "cache_size", "limits", "program", "sandbox")

    def __init__(self, sandbox: Sandbox, limits: ExecutionLimits | None = None, *, cache_size: int = 512) -> None:
        self.sandbox = sandbox
        self.limits = limits or ExecutionLimits()
        self.program = CHILD.read_text(encoding="utf-8")
        self.cache_size = cache_size
        self._claims: OrderedDict[bytes, _Claim] = OrderedDict()

    async def _one(self, code: str, inputs: Sequence[str] | None) -> _Claim | str:
        request = _request(code, inputs, self.limits)
        key = hashlib.sha256(request).digest()
        known = self._claims.get(key)
        if known is not None:
            with contextlib.suppress(KeyError):  # another thread's run (blocking callers) may have evicted it
                self._claims.move_to_end(key)
            return known
        async with _slots():
            result = await self.sandbox.run(self.program, request, self.limits.sandbox_limits())
        if result.failure:
            return result.failure  # not remembered: a timeout may be the machine's load, not the answer
        claim = _claim(result.stdout, inputs, self.limits)
        if isinstance(claim, _Claim) and sum(map(len, (*claim.inputs, *claim.outputs))) <= _CACHED_CLAIM_CHARS:
            self._claims[key] = claim
            while len(self._claims) > self.cache_size:
                with contextlib.suppress(KeyError):
                    self._claims.popitem(last=False)
        return claim

    async def arun(self, codes: Mapping[str, str]) -> BehaviourReport:
        """Every answer harvests its own example inputs in its own sandbox; then each answer that did not
        already run on exactly the shared inputs runs on them in a fresh one; outputs are compared here."""
        keys = list(codes)
        first = dict(zip(keys, await asyncio.gather(*(self._one(codes[k], None) for k in keys)), strict=True))
        failures = {k: why for k, why in first.items() if isinstance(why, str)}
        claims = {k: c for k, c in first.items() if isinstance(c, _Claim)}
        inputs: list[str] = []
        harvested_by: list[set[str]] = []
        for key, claim in claims.items():
            for text in claim.inputs:
                if text not in inputs:
                    inputs.append(text)
                    harvested_by.append(set())
                harvested_by[inputs.index(text)].add(key)
        rerun = [k for k, c in claims.items() if c.entry and inputs and list(c.inputs) != inputs]
        second = await asyncio.gather(*(self._one(codes[k], inputs) for k in rerun))
        outputs: dict[str, tuple[str, ...] | None] = {k: c.outputs if c.entry else None for k, c in claims.items()}
        for key, again in zip(rerun, second, strict=True):
            if isinstance(again, str):
                failures[key], outputs[key] = again, None
            else:
                outputs[key] = again.outputs if again.entry else None
        return BehaviourReport(tuple(inputs), tuple(frozenset(k) for k in harvested_by),
                               {k: outputs.get(k) for k in keys}, {k: failures[k] for k in keys if k in failures})

    def outputs_on(self, code: str, inputs: Sequence[str]) -> tuple[str, ...] | None:
        """What ``code``'s entry function returns on exactly ``inputs`` (``repr`` of argument tuples), one
        signature per input (blocking); None when it could not run or has no entry function."""
        claim = _blocking(self._one(code, list(inputs)))
        return claim.outputs if isinstance(claim, _Claim) and claim.entry else None

    def run(self, codes: Mapping[str, str]) -> BehaviourReport:
        """:meth:`arun`, blocking (also from inside a running event loop)."""
        return _blocking(self.arun(codes))

    def run_many(self, batch: Sequence[Mapping[str, str]]) -> list[BehaviourReport]:
        """:meth:`run` for many requests at once (they share the sandbox slots, one per CPU)."""
        async def every() -> list[BehaviourReport]:
            return list(await asyncio.gather(*(self.arun(codes) for codes in batch)))

        return _blocking(every())


def _blocking(work: Awaitable[_T]) -> _T:
    async def wrapped() -> _T:
        return await work

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrapped())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, wrapped()).result()


def run_behaviour(codes: Mapping[str, str], limits: ExecutionLimits | None = None, *,
                  sandbox: Sandbox | None = None) -> BehaviourReport:
    """Run every answer in its own sandbox (blocking); never raises for anything the code does.
    :class:`~cascadeflow.errors.ConfigError` when no sandbox is given and this machine has none."""
    if not codes:
        return BehaviourReport()
    return BehaviourRunner(sandbox or Sandbox.detect(), limits).run(codes)


async def arun_behaviour(codes: Mapping[str, str], limits: ExecutionLimits | None = None, *,
                         sandbox: Sandbox | None = None) -> BehaviourReport:
    """:func:`run_behaviour` without blocking the event loop (at most one sandbox per CPU at a time)."""
    if not codes:
        return BehaviourReport()
    return await BehaviourRunner(sandbox or Sandbox.detect(), limits).arun(codes)


_DRAFT_KEY: Final = "\x00draft"  # the draft's key in a behaviour run: no tier can have this name


class BehaviourAgreementValidator:
    """Agreement for code by behaviour: accept when at least ``min_agree`` earlier drafts (of ``peers``, when
    given) behave like this one and the agreeing fraction reaches the threshold. Non-code questions fall back
    to :class:`~cascadeflow.cascade.quality.agreement.AgreementValidator`'s normalised comparison. Runs
    model-written code, each answer in its own sandbox: building it checks that this machine has one
    (:meth:`Sandbox.detect <cascadeflow.cascade.quality.sandbox.Sandbox.detect>`) and raises
    :class:`~cascadeflow.errors.ConfigError` naming ``setting`` when it has not."""

    __slots__ = ("min_agree", "normalised", "peers", "runner")

    def __init__(
        self, *, min_agree: int = 1, peers: Sequence[str] = (), limits: ExecutionLimits | None = None,
        sandbox: Sandbox | None = None, setting: str = "execute", runner: BehaviourRunner | None = None,
    ) -> None:
        self.normalised = AgreementValidator(min_agree=min_agree, peers=peers)  # validates min_agree
        self.min_agree = min_agree
        self.peers = tuple(peers)
        # A runner shared with other validators shares its memory of results (limits and sandbox come from it).
        self.runner = runner or BehaviourRunner(sandbox or Sandbox.detect(setting), limits)

    @property
    def limits(self) -> ExecutionLimits:
        return self.runner.limits

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        if detect_kind(request.query) != "code":
            return self.normalised(request, draft, context)
        others = [(tier, c) for tier, c in previous_drafts(context) if from_peer(tier, self.peers)]
        mine = extract_python(draft.content)
        if mine is None or not others:
            why = "no earlier draft to compare with" if mine is not None else "could not read Python code to run"
            return agreement_verdict(0.0, False, f"agreement: {why}", context.threshold)
        codes = {tier: code for tier, c in others if (code := extract_python(c.content)) is not None}
        report = await self.runner.arun({_DRAFT_KEY: mine, **codes})
        failed = report.failures.get(_DRAFT_KEY)
        if failed:
            return agreement_verdict(0.0, False, f"agreement: could not run the code ({failed})", context.threshold)
        agreeing = [tier for tier in codes if report.agree(_DRAFT_KEY, tier)]
        score = len(agreeing) / len(others)
        passed = len(agreeing) >= self.min_agree and score >= context.threshold
        names = ", ".join(f"{t} on {report.describe(_DRAFT_KEY, t)}" for t in agreeing) if agreeing else "none"
        reason = f"agreement: {len(agreeing)} of {len(others)} earlier drafts behave the same ({names})"
        failed_peers = "; ".join(f"{tier} could not run ({why})" for tier, why in report.failures.items())
        reason += f"; {failed_peers}" if failed_peers else ""
        return agreement_verdict(score, passed, reason, context.threshold)
