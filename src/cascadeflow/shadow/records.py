"""What shadow calibration records per run: each cheap draft's features, score and decision, and — when the top
tier's answer is known (the run escalated to it, or a shadow call asked it) — whether the draft agreed with it.

Records hold features and normalised verdicts, never the prompt or answer text: a store shared by replicas is
then no copy of user data. They are JSON-serialisable (every store keeps them as JSON text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias

from cascadeflow.errors import ConfigError

Outcome: TypeAlias = Literal["accepted", "top"]
FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class DraftObservation:
    """One cheap tier's draft in a run."""

    tier: str
    features: dict[str, float]
    score: float | None
    """The adaptive validator's P(agrees with the top tier) when a fitted scorer decided, else None."""
    accepted: bool
    label: bool | None = None
    """Agrees with the top tier's answer; None while that answer is unknown."""
    cost: float = 0.0
    """USD of this draft's call."""

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "features": self.features, "score": self.score, "accepted": self.accepted,
                "label": self.label, "cost": self.cost}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DraftObservation:
        return cls(str(data["tier"]), {str(k): float(v) for k, v in dict(data["features"]).items()},
                   None if data.get("score") is None else float(data["score"]), bool(data["accepted"]),
                   None if data.get("label") is None else bool(data["label"]), float(data.get("cost", 0.0)))


@dataclass(frozen=True, slots=True)
class ShadowRecord:
    """One run as shadow calibration saw it.

    ``observed`` is the probability that the top tier's answer was known for this run: 1 when the run escalated
    to it, the shadow rate when the run was accepted at a cheap tier (whether or not this one was shadowed).
    """

    record_id: str
    created_at: float
    chain: tuple[str, ...]
    drafts: tuple[DraftObservation, ...]
    outcome: Outcome
    observed: float
    shadowed: bool = False
    cost: Decimal = Decimal(0)
    """What the run itself cost."""
    top_cost: Decimal = Decimal(0)
    """What the top tier's call cost: in the run (escalated) or the shadow call; zero when it was not asked."""
    shadow_cost: Decimal = Decimal(0)
    """What the shadow call cost (zero when there was none)."""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return self.outcome == "top" or self.shadowed

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "id": self.record_id, "at": self.created_at, "chain": list(self.chain),
            "drafts": [d.to_dict() for d in self.drafts], "outcome": self.outcome, "observed": self.observed,
            "shadowed": self.shadowed, "cost": str(self.cost), "top_cost": str(self.top_cost),
            "shadow_cost": str(self.shadow_cost),
            "meta": self.meta,
        }, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ShadowRecord:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown record format {data.get('format')!r}")
            return cls(str(data["id"]), float(data["at"]), tuple(str(t) for t in data["chain"]),
                       tuple(DraftObservation.from_dict(d) for d in data["drafts"]), data["outcome"],
                       float(data["observed"]), bool(data["shadowed"]), Decimal(str(data["cost"])),
                       Decimal(str(data.get("top_cost", "0"))), Decimal(str(data["shadow_cost"])),
                       dict(data.get("meta", {})))
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise ConfigError("shadow.records", f"malformed shadow record: {exc!r}") from exc
