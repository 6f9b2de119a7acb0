"""The shadow call: the top tier answers a run's request after the run, through the same run hooks as every call.

So a budget hook reserves and commits it, a ledger records it, and it leaves a
:class:`~cascadeflow.cascade.result.StepRecord` of kind ``shadow`` (action ``shadow``) with its cost — a shadow
call is a cost like any other, only off the caller's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cascadeflow.cascade.calls import CallGate
from cascadeflow.cascade.engine import CascadeEngine
from cascadeflow.cascade.hooks import all_hooks
from cascadeflow.cascade.result import StepRecord
from cascadeflow.errors import ProviderError
from cascadeflow.types import Completion, CompletionRequest


@dataclass(frozen=True, slots=True)
class ShadowOutcome:
    completion: Completion | None
    record: StepRecord

    @property
    def cost(self) -> Decimal:
        return self.record.cost


async def shadow_call(engine: CascadeEngine, run_id: str, request: CompletionRequest) -> ShadowOutcome:
    """Ask the top tier for ``request``; the record says what it cost (or why it failed)."""
    top = len(engine.tiers) - 1
    tier = engine.tiers[top]
    user = request.metadata.get("user_id")
    gate = CallGate(run_id, all_hooks(engine.hooks), engine.tier_infos, None if user is None else str(user))
    begun = await gate.begin("shadow", top, request)
    try:
        completion = await tier.provider.complete(begun.request)
    except ProviderError as exc:
        record = StepRecord(tier=top, model=tier.name, provider=tier.config.provider, action="shadow",
                            reason=f"shadow call to {tier.name} failed ({type(exc).__name__})",
                            latency_ms=begun.latency_ms(), error=f"{type(exc).__name__}: {exc}",
                            **gate.stamp(begun))  # type: ignore[arg-type]
        await gate.end(begun, record)
        return ShadowOutcome(None, record)
    except BaseException:
        await gate.end(begun, None)
        raise
    cost = completion.cost_usd if completion.cost_usd is not None else tier.price.cost(completion.usage)
    record = StepRecord(tier=top, model=tier.name, provider=tier.config.provider, action="shadow",
                        reason=f"{tier.name} answered off the answer's path, to label the accepted draft",
                        usage=completion.usage, cost=cost, latency_ms=begun.latency_ms(),
                        finish_reason=completion.finish_reason, usage_estimated=completion.usage_estimated,
                        **gate.stamp(begun))  # type: ignore[arg-type]
    await gate.end(begun, record)
    return ShadowOutcome(completion, record)
