"""Compare code answers by what they *do*: run them on the inputs their own examples use, compare the results.

Two models rarely write the same function text, so comparing code by its (normalised) AST almost never finds
agreement. Here every answer's entry function is called on the example inputs that any of the compared
answers' own "example usage" code passes to it, and two answers agree when they return the same values (or
raise the same exception types) on every input either of them gave. On RouterBench MBPP this finds agreement
far more often than the AST comparison, and agreement that predicts correctness (docs/benchmarks.md).

**Safety.** This runs model-written code. It does so in a separate ``python -I`` process with an empty
environment, a fresh temporary directory as working directory, POSIX limits on CPU time, memory, file size and
open files, a wall-clock timeout, and per-call alarms; stdin is closed. That contains accidents (endless loops,
memory blow-ups, stray files, ``input()``), **not** a deliberately hostile program (it can still open network
connections or read files the user can read). It is therefore off unless asked for
(:class:`BehaviourAgreementValidator`, ``agreement: {execute: true}`` in a plan, ``cascadeflow calibrate
--execute-code``); turn it on for trusted settings such as replaying benchmark answers, or run cascadeflow
itself inside your own sandbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cascadeflow.cascade.quality.agreement import (
    AgreementValidator,
    agreement_verdict,
    detect_kind,
    extract_python,
    from_peer,
)
from cascadeflow.cascade.quality.base import ValidationContext, Verdict, previous_drafts
from cascadeflow.types import Completion, CompletionRequest

CHILD: Final = Path(__file__).with_name("code_exec_child.py")
_ERROR_PREFIX: Final = "error:"
_MB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExecutionLimits:
    """Bounds on one behaviour run (all answers of one request in one child process)."""

    wall_s: float = 20.0
    """The whole child process, all answers included; it is killed after this."""
    call_timeout_s: float = 1.0
    """One definition block, one example block or one call of an entry function."""
    cpu_s: int = 20
    memory_mb: int = 1024
    max_inputs: int = 4
    """Inputs harvested per answer (its first example calls)."""


@dataclass(frozen=True, slots=True)
class BehaviourReport:
    """What every answer's entry function returned on every harvested input."""

    inputs: tuple[str, ...] = ()
    harvested_by: tuple[frozenset[str], ...] = ()
    outputs: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    failure: str | None = None
    """Why the child produced no report (timeout, crash), when it did not."""

    def agree(self, a: str, b: str) -> bool | None:
        """Whether answers ``a`` and ``b`` behave alike on every input either of them supplied: None when that
        cannot be decided (an answer has no callable entry, no input comes from either, or every call of both
        failed)."""
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


def _request(codes: Mapping[str, str], limits: ExecutionLimits) -> bytes:
    # The child applies the POSIX limits to itself before it runs any answer (no preexec_fn: it is unsafe
    # in a parent that has threads, as an app serving requests usually does).
    return json.dumps({
        "codes": dict(codes), "max_inputs": limits.max_inputs, "call_timeout_s": limits.call_timeout_s,
        "cpu_s": limits.cpu_s, "memory_mb": limits.memory_mb,
    }).encode()


def _parse(stdout: bytes, returncode: int | None) -> BehaviourReport:
    lines = [line for line in stdout.decode(errors="replace").splitlines() if line.strip()]
    try:
        data: Any = json.loads(lines[-1]) if lines else None
        outputs = {str(k): None if v is None else tuple(str(x) for x in v) for k, v in data["outputs"].items()}
        return BehaviourReport(
            inputs=tuple(str(x) for x in data["inputs"]),
            harvested_by=tuple(frozenset(str(k) for k in keys) for keys in data["harvested_by"]),
            outputs=outputs,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return BehaviourReport(failure=f"the code runner exited with {returncode} and no report")


def run_behaviour(codes: Mapping[str, str], limits: ExecutionLimits | None = None) -> BehaviourReport:
    """Run every answer in one child process (blocking); never raises for anything the code does."""
    limits = limits or ExecutionLimits()
    if not codes:
        return BehaviourReport()
    with tempfile.TemporaryDirectory(prefix="cascadeflow-exec-") as scratch:
        try:
            # argv is fixed (this interpreter, our child script); only the JSON on stdin carries the code.
            done = subprocess.run(
                [sys.executable, "-I", str(CHILD)], input=_request(codes, limits), capture_output=True,
                timeout=limits.wall_s, cwd=scratch, env={}, check=False,
            )
        except subprocess.TimeoutExpired:
            return BehaviourReport(failure=f"the code ran longer than {limits.wall_s:g} s")
    return _parse(done.stdout, done.returncode)


_RUNNING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    """One child per CPU at a time, per event loop (a batch of 32 concurrent runs must not fork 32 Pythons)."""
    loop = asyncio.get_running_loop()
    if loop not in _RUNNING:
        _RUNNING[loop] = asyncio.Semaphore(os.cpu_count() or 1)
    return _RUNNING[loop]


async def arun_behaviour(codes: Mapping[str, str], limits: ExecutionLimits | None = None) -> BehaviourReport:
    """:func:`run_behaviour` without blocking the event loop (at most one child per CPU at a time)."""
    limits = limits or ExecutionLimits()
    if not codes:
        return BehaviourReport()
    async with _slots():
        return await _arun(codes, limits)


async def _arun(codes: Mapping[str, str], limits: ExecutionLimits) -> BehaviourReport:
    with tempfile.TemporaryDirectory(prefix="cascadeflow-exec-") as scratch:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", str(CHILD), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, cwd=scratch, env={},
        )
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(_request(codes, limits)), limits.wall_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            return BehaviourReport(failure=f"the code ran longer than {limits.wall_s:g} s")
    return _parse(stdout, process.returncode)


_DRAFT_KEY: Final = "\x00draft"  # the draft's key in a behaviour run: no tier can have this name


class BehaviourAgreementValidator:
    """Agreement for code by behaviour: accept when at least ``min_agree`` earlier drafts (of ``peers``, when
    given) behave like this one and the agreeing fraction reaches the threshold. Non-code questions fall back
    to :class:`~cascadeflow.cascade.quality.agreement.AgreementValidator`'s normalised comparison. Runs
    model-written code: see the module doc before turning it on."""

    __slots__ = ("limits", "min_agree", "normalised", "peers")

    def __init__(self, *, min_agree: int = 1, peers: Sequence[str] = (), limits: ExecutionLimits | None = None) -> None:
        self.normalised = AgreementValidator(min_agree=min_agree, peers=peers)  # validates min_agree
        self.min_agree = min_agree
        self.peers = tuple(peers)
        self.limits = limits or ExecutionLimits()

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        if detect_kind(request.query) != "code":
            return self.normalised(request, draft, context)
        others = [(tier, c) for tier, c in previous_drafts(context) if from_peer(tier, self.peers)]
        mine = extract_python(draft.content)
        if mine is None or not others:
            why = "no earlier draft to compare with" if mine is not None else "could not read Python code to run"
            return agreement_verdict(0.0, False, f"agreement: {why}", context.threshold)
        codes = {tier: code for tier, c in others if (code := extract_python(c.content)) is not None}
        report = await arun_behaviour({_DRAFT_KEY: mine, **codes}, self.limits)
        if report.failure:
            reason = f"agreement: could not run the code ({report.failure})"
            return agreement_verdict(0.0, False, reason, context.threshold)
        agreeing = [tier for tier in codes if report.agree(_DRAFT_KEY, tier)]
        score = len(agreeing) / len(others)
        passed = len(agreeing) >= self.min_agree and score >= context.threshold
        names = ", ".join(f"{t} on {report.describe(_DRAFT_KEY, t)}" for t in agreeing) if agreeing else "none"
        reason = f"agreement: {len(agreeing)} of {len(others)} earlier drafts behave the same ({names})"
        return agreement_verdict(score, passed, reason, context.threshold)
