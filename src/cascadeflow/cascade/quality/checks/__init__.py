"""The built-in quality checks, one per file.

Each check module holds the check ``(request, draft, context, settings) -> CheckResult``, its frozen settings
dataclass beside it, and ``SPEC = CheckSpec(...)`` (name, settings class, default weight, run order).
:func:`~cascadeflow.cascade.quality.checks.registry.discover_checks` finds every module here that defines
``SPEC``: a new check is a new file, with no list to extend and no change to core config. Modules without
``SPEC`` are helpers (``custom.py`` adapts user validators; ``registry.py`` is the registry itself).
"""
