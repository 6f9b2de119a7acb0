"""``compliance="gdpr" | "hipaa"`` (or your own :class:`CompliancePack`): which models may see protected data.

Before each call the outgoing messages are scanned for personal data (:mod:`cascadeflow.policies.pii`). If the
call's model may not see what was found, the pack decides: move the call to a tier that may (``switch_model``),
replace the data with placeholders (``redact``, recorded as ``degrade``), or ``stop``. Which models may see
protected data comes from ``ModelConfig.metadata``:

- GDPR: personal data (emails, phone numbers, IBANs, card numbers, national IDs) only to models with
  ``metadata={"region": "eu"}`` (or another EEA region, or ``{"gdpr": True}``) or running locally; elsewhere the
  call moves to such a tier, or else the data is redacted.
- HIPAA: protected health information — a health term *and* an identifier in the same request — only to models
  with ``metadata={"hipaa": True}`` (a business associate agreement) or running locally; elsewhere the call
  moves to such a tier, or else the run stops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

from cascadeflow.errors import ConfigError
from cascadeflow.policies.pii import KINDS, Finding, detect, redact
from cascadeflow.policies.protocol import BasePolicy, Outcome

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart, TierInfo
    from cascadeflow.harness.session import RunSession
    from cascadeflow.types import CompletionRequest

Remedy = Literal["switch_model", "redact", "stop"]
EEA_REGIONS: Final = frozenset({"eu", "eea", "at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr",
                                "hu", "ie", "it", "lv", "lt", "lu", "mt", "nl", "pl", "pt", "ro", "sk", "si", "es",
                                "se", "is", "li", "no", "europe", "eu-west", "eu-central", "eu-north", "eu-south"})
LOCAL_PROVIDERS: Final = frozenset({"local", "llamacpp", "ollama", "vllm"})
"""Models served on your own machines: the data does not leave them."""
IDENTIFIERS: Final = tuple(k for k in KINDS if k != "health")


def _local(tier: TierInfo) -> bool:
    return tier.provider in LOCAL_PROVIDERS or bool(tier.metadata.get("local"))


def gdpr_allows(tier: TierInfo) -> bool:
    region = str(tier.metadata.get("region", "")).lower()
    return _local(tier) or bool(tier.metadata.get("gdpr")) or region in EEA_REGIONS or region.startswith("eu-")


def hipaa_allows(tier: TierInfo) -> bool:
    return _local(tier) or bool(tier.metadata.get("hipaa") or tier.metadata.get("baa"))


@dataclass(frozen=True, slots=True)
class CompliancePack:
    """What is protected, who may see it, and what to do otherwise (``remedies`` tried in order)."""

    name: str
    kinds: tuple[str, ...]
    allows: Callable[[TierInfo], bool]
    remedies: tuple[Remedy, ...] = ("switch_model", "redact")
    requires: tuple[str, ...] = ()
    """Kinds that must *also* be present for the data to be protected (HIPAA: a health term)."""

    def protected(self, findings: Sequence[Finding]) -> list[Finding]:
        present = {f.kind for f in findings}
        if not set(self.requires) <= present or not any(f.kind in self.kinds for f in findings):
            return []
        return [f for f in findings if f.kind in self.kinds or f.kind in self.requires]


GDPR: Final = CompliancePack("gdpr", IDENTIFIERS, gdpr_allows)
HIPAA: Final = CompliancePack("hipaa", IDENTIFIERS, hipaa_allows, ("switch_model", "stop"), requires=("health",))
PACKS: Final = MappingProxyType({"gdpr": GDPR, "hipaa": HIPAA})


class CompliancePolicy(BasePolicy):
    """One or more packs over every outgoing request of a run."""

    def __init__(self, packs: Sequence[CompliancePack]) -> None:
        self.packs = tuple(packs)
        self.name = "compliance:" + "+".join(p.name for p in self.packs)
        self._kinds = tuple(dict.fromkeys(k for p in self.packs for k in (*p.kinds, *p.requires)))

    def before(self, call: CallStart, run: RunSession) -> Outcome | None:
        findings = detect(_outgoing_text(call.request), self._kinds)
        if not findings:
            return None
        for pack in self.packs:
            protected = pack.protected(findings)
            if protected and not pack.allows(call.info):
                return self._remedy(pack, protected, call)
        return None

    def _remedy(self, pack: CompliancePack, found: list[Finding], call: CallStart) -> Outcome:
        kinds = ", ".join(sorted({f.kind for f in found}))
        why = f"{pack.name}: {kinds} in the request may not go to {call.info.model}"
        for remedy in pack.remedies:
            if remedy == "switch_model":
                fit = [t for t in call.tiers if pack.allows(t)]
                if fit:
                    tier = min(fit, key=lambda t: t.price.blended_per_1m)
                    return Outcome("switch_model", f"{why}; {tier.model} may see it", tier=tier.index)
            elif remedy == "redact":
                return Outcome("degrade", f"{why}; redacted", request=_redacted(call.request, self._kinds))
        return Outcome("stop", f"{why}; no tier may see it")


def _outgoing_text(request: CompletionRequest) -> str:
    return "\n".join(m.content or "" for m in request.messages)


def _redacted(request: CompletionRequest, kinds: Sequence[str]) -> CompletionRequest:
    messages = tuple(m if not m.content else replace(m, content=redact(m.content, detect(m.content, kinds)))
                     for m in request.messages)
    return replace(request, messages=messages)


def compliance_policy(spec: object) -> CompliancePolicy:
    """``"gdpr"``, ``"hipaa"``, a :class:`CompliancePack`, or a list of them."""
    items = spec if isinstance(spec, Sequence) and not isinstance(spec, str) else [spec]
    packs = []
    for item in items:
        if isinstance(item, CompliancePack):
            packs.append(item)
        elif isinstance(item, str) and item.lower() in PACKS:
            packs.append(PACKS[item.lower()])
        else:
            raise ConfigError("compliance", f"must be {' or '.join(map(repr, PACKS))}, a CompliancePack, or a list "
                                            f"of them; got {item!r}")
    if not packs:
        raise ConfigError("compliance", "give at least one pack")
    return CompliancePolicy(packs)


def packs() -> Mapping[str, CompliancePack]:
    return dict(PACKS)
