"""``max_tool_calls=``: a cap on the tool calls the models of a run may ask for.

Counted on the answers the models return. Past the cap, ``enforce`` removes the extra tool calls from the answer
before the caller sees it (one ``deny_tool`` decision per removed call); an answer left with no text and no tool
calls says why instead of coming back empty. ``observe`` leaves them and records the same decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from cascadeflow.policies.protocol import BasePolicy, Outcome

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart
    from cascadeflow.harness.session import RunSession
    from cascadeflow.types import Completion


class ToolCallPolicy(BasePolicy):
    name = "max_tool_calls"
    limits = ("max_tool_calls",)

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def answer(self, call: CallStart, completion: Completion, run: RunSession) -> Sequence[Outcome]:
        calls = completion.tool_calls
        room = max(self.cap - run.tool_calls, 0)
        if len(calls) <= room:
            return ()
        kept, denied = calls[:room], calls[room:]
        content = completion.content
        if not kept and not content.strip():
            content = f"[cascadeflow] tool call(s) not made: the run's cap of {self.cap} tool calls is reached."
        changed = replace(completion, tool_calls=kept, content=content)
        return tuple(
            Outcome("deny_tool", f"tool call {tool.name!r} is past the run's cap of {self.cap} tool calls",
                    completion=changed if i == len(denied) - 1 else None)
            for i, tool in enumerate(denied)
        )

    def remaining(self, run: RunSession) -> dict[str, int]:
        return {"tool_calls": max(self.cap - run.tool_calls, 0)}

    def extend(self, name: str, value: int) -> None:
        from cascadeflow.validate import check_int

        check_int(name, value, lo=0)
        self.cap += value
