"""The policies of a governed run (budget, tool calls, compliance, KPI weights, time budget, safety), each a
small class behind :class:`~cascadeflow.policies.protocol.Policy`; built from ``cascadeflow.run(...)``'s
arguments by :func:`~cascadeflow.policies.build.build_policies`."""
