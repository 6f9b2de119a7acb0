"""Shadow-mode self-calibration (opt-in): learn when cheap drafts can be kept from live traffic.

For a share of accepted drafts the top tier also answers, off the caller's critical path; whether the two agree
is recorded as the label, and the acceptance scorer and thresholds are refitted on those records to hold a
target quality, with a confidence bound (:mod:`cascadeflow.shadow.bounds`). The shadow share shrinks as the
estimate tightens. Records live in a store (:mod:`cascadeflow.shadow.stores`: memory, SQLite by default,
Redis or PostgreSQL for many replicas), so a restart resumes; ``cascadeflow calibrate --from-traces`` refits
offline from the same records. Shadow calls are costs like any other call.
"""
