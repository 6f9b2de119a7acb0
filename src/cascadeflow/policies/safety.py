"""``safety=True`` (or a :class:`SafetyPack`): rules against prompt injection and blocked content, on the
messages going to a model and on the answers coming back.

A rule is a regular expression, where it looks (``input``: user and tool messages; ``output``: the model's
answer; ``both``) and what a match does: ``stop`` the run, ``warn`` only, or ``redact`` the match (an answer's
match is replaced by ``[REDACTED]``; recorded as ``degrade``). The default pack stops the common injection
phrasings ("ignore all previous instructions", "reveal your system prompt", role-override jailbreaks) found in
input — tool output included, where indirect injection arrives. Add your own rules or a blocklist of words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

from cascadeflow.errors import ConfigError
from cascadeflow.policies.protocol import BasePolicy, Outcome

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart
    from cascadeflow.harness.session import RunSession
    from cascadeflow.types import Completion

Where = Literal["input", "output", "both"]
RuleAction = Literal["stop", "warn", "redact"]
INPUT_ROLES: Final = frozenset({"user", "tool"})


@dataclass(frozen=True, slots=True)
class SafetyRule:
    name: str
    pattern: re.Pattern[str]
    where: Where = "input"
    action: RuleAction = "stop"

    @classmethod
    def of(cls, name: str, regex: str, where: Where = "input", action: RuleAction = "stop") -> SafetyRule:
        try:
            compiled = re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"safety.{name}", f"not a valid regular expression: {exc}") from None
        if where not in ("input", "output", "both") or action not in ("stop", "warn", "redact"):
            raise ConfigError(f"safety.{name}", f"where must be input/output/both and action stop/warn/redact, "
                                                f"got {where!r}/{action!r}")
        return cls(name, compiled, where, action)


DEFAULT_RULES: Final = (
    SafetyRule.of("ignore_instructions", r"\b(?:ignore|disregard|forget)\b[^.\n]{0,40}\b(?:previous|prior|above|"
                  r"earlier|all|system)\b[^.\n]{0,20}\b(?:instructions?|prompts?|rules?|directions?)\b"),
    SafetyRule.of("reveal_system_prompt", r"\b(?:reveal|show|print|repeat|leak|output)\b[^.\n]{0,30}\b(?:your|the)\s+"
                  r"(?:system\s+prompt|hidden\s+instructions|initial\s+instructions)\b"),
    SafetyRule.of("role_override", r"\b(?:you are now|act as|pretend to be)\b[^.\n]{0,30}\b(?:DAN|developer mode|"
                  r"jailbr(?:oken|eak)|unfiltered|without (?:any )?restrictions)\b"),
    SafetyRule.of("new_instructions_marker", r"(?:^|\n)\s*(?:#+\s*)?(?:new|updated|override)\s+(?:system\s+)?"
                  r"instructions?\s*:"),
)


@dataclass(frozen=True, slots=True)
class SafetyPack:
    """Rules plus a blocklist of words (matched as whole words, case-insensitive, ``block_action`` on a match)."""

    rules: tuple[SafetyRule, ...] = DEFAULT_RULES
    blocklist: tuple[str, ...] = ()
    block_where: Where = "both"
    block_action: RuleAction = "stop"

    def all_rules(self) -> tuple[SafetyRule, ...]:
        if not self.blocklist:
            return self.rules
        words = "|".join(re.escape(w) for w in self.blocklist)
        return (*self.rules, SafetyRule.of("blocklist", rf"\b(?:{words})\b", self.block_where, self.block_action))


class SafetyPolicy(BasePolicy):
    name = "safety"

    def __init__(self, pack: SafetyPack) -> None:
        self.rules = pack.all_rules()

    def before(self, call: CallStart, run: RunSession) -> Outcome | None:
        texts = [m.content or "" for m in call.request.messages if m.role in INPUT_ROLES]
        for rule in self.rules:
            if rule.where == "output":
                continue
            hit = next((m for t in texts for m in (rule.pattern.search(t),) if m), None)
            if hit is not None:
                why = f"input matches rule {rule.name!r}: {hit.group()[:60]!r}"
                return Outcome("warn" if rule.action == "warn" else "stop", why)
        return None

    def answer(self, call: CallStart, completion: Completion, run: RunSession) -> Sequence[Outcome]:
        outcomes: list[Outcome] = []
        text = completion.content
        for rule in self.rules:
            if rule.where == "input" or not rule.pattern.search(text):
                continue
            why = f"answer of {call.info.model} matches rule {rule.name!r}"
            if rule.action == "redact":
                text = rule.pattern.sub("[REDACTED]", text)
                outcomes.append(Outcome("degrade", why + "; redacted", completion=replace(completion, content=text)))
            else:
                outcomes.append(Outcome("warn" if rule.action == "warn" else "stop", why))
        return outcomes


def safety_policy(spec: object) -> SafetyPolicy:
    """``True``/``"default"``: the default pack; a :class:`SafetyPack`; or a list of :class:`SafetyRule`."""
    if spec is True or spec == "default":
        return SafetyPolicy(SafetyPack())
    if isinstance(spec, SafetyPack):
        return SafetyPolicy(spec)
    if isinstance(spec, Iterable) and not isinstance(spec, str):
        rules = tuple(spec)
        if rules and all(isinstance(r, SafetyRule) for r in rules):
            return SafetyPolicy(SafetyPack(rules=rules))
    raise ConfigError("safety", f"must be True, 'default', a SafetyPack or a list of SafetyRule; got {spec!r}")
