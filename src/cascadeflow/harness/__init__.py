"""Governing whole agent runs: ``init`` (mode), ``run`` (policies, a session), ``@agent``, decision traces, stats.

See :mod:`cascadeflow.harness.api`; the public names are re-exported by :mod:`cascadeflow`.
"""
