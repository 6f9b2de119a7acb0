"""Calibrate a cascade from labelled outcomes: which tiers, which strategy, which thresholds.

Input is data-source agnostic: for each prompt, every candidate model's answer, whether it was correct and what
it cost (:class:`~cascadeflow.providers.replay.RecordedPrompt`; build them from your own logs or load a
benchmark). The search tries chains of up to ``max_tiers`` cheap models in front of the top model, in any order
(a strong cheap model asked first often settles more prompts than a cheaper weak one: the written plan then keeps
its order with ``tier_order: given``): every chain of one or two cheap models, then beam search extending the
best chains of each length by one more model. For each chain and strategy it picks per-tier thresholds that
minimise cost while keeping the target share of the top model's accuracy *with confidence*: a point qualifies
only when the lower confidence bound of its quality ratio (Clopper-Pearson, ``settings.delta``; risk control in
the manner of Learn-then-Test) reaches the target, so the margin a plan needs comes from the data behind it, not
from a fixed number. The bound is written with the plan. Scores of learned strategies are out-of-fold (k-fold),
and the shortlisted plans are re-scored by k-fold cross-validation with thresholds chosen the same way on the
other folds, so the estimate in the output is a held-out number, not a training-set one. (``delta=None`` keeps the
older rule: target + a margin, the smallest step of :data:`MARGIN_STEPS` whose cross-validated quality meets
the target.)

The scores come from the production validators' own code (:mod:`~cascadeflow.cascade.quality.agreement`,
:mod:`~cascadeflow.cascade.quality.learned`), so the written YAML behaves in the agent as it did here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from cascadeflow.calibrate.fit import fit_scorer
from cascadeflow.calibrate.thresholds import (
    Candidate,
    Evaluation,
    Matrices,
    choose_thresholds,
    evaluate,
    lower_quality,
)
from cascadeflow.cascade.plan_config import CascadePlan, TierPlan
from cascadeflow.cascade.quality.agreement import detect_kind, extract_python, normalize_answer
from cascadeflow.cascade.quality.learned import SHAPE_FEATURES, agreement_features, draft_features, rule_scores
from cascadeflow.config import COMPLEXITY_LEVELS
from cascadeflow.errors import ConfigError
from cascadeflow.providers.replay import RecordedPrompt

if TYPE_CHECKING:
    import numpy as np

    from cascadeflow.cascade.quality.code_behaviour import BehaviourReport

CALIBRATION_STRATEGIES: Final[tuple[str, ...]] = ("agreement", "learned")
MARGIN_STEPS: Final[tuple[float, ...]] = (0.0, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03)
"""Safety margins tried, smallest first; beyond 0.03 a plan is too unstable to be worth shipping."""
Progress = Callable[[str, int, int], None]
FEATURE_SETS: Final = ("robust", "all")


@dataclass(frozen=True)
class CalibrationSettings:
    """What to aim for and how hard to search; each default says why."""

    target_quality: float = 0.97
    delta: float | None = 0.1
    """Risk control: thresholds qualify only when the lower confidence bound (1 - delta) of their quality
    ratio on the calibration prompts reaches the target (:func:`~cascadeflow.shadow.bounds.quality_bound`), so
    the safety margin comes from how much data backs the plan. ``None``: the older point estimate + ``margin``
    (raised by cross-validation through :data:`MARGIN_STEPS`)."""
    margin: float = 0.0
    """Extra margin on the target (with ``delta=None``: the smallest of the CV-chosen margins)."""
    folds: int = 5
    max_tiers: int = 3
    """Cheap tiers in front of the top model: chains of 4 rarely beat 3 and multiply the search time."""
    beam: int = 6
    """Chains of each length (from two up) that are extended by one more cheap model; every chain of one or
    two cheap models is tried regardless."""
    strategies: tuple[str, ...] = CALIBRATION_STRATEGIES
    models: tuple[str, ...] = ()
    top_model: str | None = None
    max_tier_cost_ratio: float = 0.25
    """A cheap tier costing more than this fraction of the top model cannot help any useful cost target."""
    shortlist: int = 8
    """Best in-sample candidates re-scored by full cross-validation (the expensive, honest estimate)."""
    seed: int = 0
    provider: str = "replay"
    kind: str = "auto"
    execute_code: bool = False
    """Compare code answers by behaviour in the agreement strategy (runs the recorded code; see
    :mod:`~cascadeflow.cascade.quality.code_behaviour`) instead of by normalised AST."""
    checks: bool = True
    """Also feed the rule validator's check scores (``check:arithmetic``, ``check:choice``, ...) to learned
    scorers: label-free evidence designed without the data, so it holds on unseen prompts (GSM8K, five
    splits: held-out AUROC 0.750 from the check scores alone, in-sample 0.757)."""
    features: str = "robust"
    """``robust``: learned scorers leave out the draft's *shape* (:data:`SHAPE_FEATURES`: query and answer
    lengths), which fits the visible prompts more than it generalises (GSM8K held-out AUROC 0.766 without them
    vs 0.745 with); ``all``: every feature."""
    chain: tuple[str, ...] = ()
    """A fixed chain, top model last (e.g. to compare plans for the same tiers): only strategies and thresholds
    are searched. Empty: search chains."""

    def __post_init__(self) -> None:
        if not 0.0 < self.target_quality <= 1.5:
            raise ConfigError("target_quality", f"must be in (0, 1.5], got {self.target_quality!r}")
        if self.delta is not None and not 0.0 < self.delta < 1.0:
            raise ConfigError("delta", f"must be in (0, 1) (or None for no risk control), got {self.delta!r}")
        if self.folds < 2:
            raise ConfigError("folds", f"must be >= 2, got {self.folds!r}")
        if self.max_tiers < 1:
            raise ConfigError("max_tiers", f"must be >= 1, got {self.max_tiers!r}")
        if self.beam < 1:
            raise ConfigError("beam", f"must be >= 1, got {self.beam!r}")
        if self.features not in FEATURE_SETS:
            raise ConfigError("features", f"choose one of {list(FEATURE_SETS)}, got {self.features!r}")
        if len(self.chain) == 1:
            raise ConfigError("chain", "give at least one cheap model before the top model")
        bad = sorted(set(self.strategies) - set(CALIBRATION_STRATEGIES))
        if bad or not self.strategies:
            raise ConfigError("strategies", f"choose from {list(CALIBRATION_STRATEGIES)}, got {list(self.strategies)}")


@dataclass(frozen=True)
class CalibrationResult:
    """The chosen plan, its cross-validated estimate, and every candidate's numbers for the report."""

    plan: CascadePlan
    estimate: Evaluation
    top_model: str
    candidates: list[dict[str, Any]] = field(default_factory=list)
    reached_target: bool = True


class _Prepared:
    """Per-(prompt, model) facts computed once: normalised answers and draft features."""

    def __init__(
        self, prompts: Sequence[RecordedPrompt], models: Sequence[str], kind: str, checks: bool, execute: bool = False,
        robust: bool = True,
    ) -> None:
        import numpy as np

        self.prompts = prompts
        self.checks = checks
        self.models = list(models)
        self.kind = kind
        self.cost = np.array([[p.answers[m].cost_usd for m in models] for p in prompts], dtype=float)
        self.correct = np.array([[bool(p.answers[m].correct) for m in models] for p in prompts], dtype=float)
        self.norm = [[normalize_answer(p.answers[m].answer, p.prompt, kind) for m in models] for p in prompts]
        self.feats = [[draft_features(p.prompt, p.answers[m].answer, kind) for m in models] for p in prompts]
        if robust:
            self.feats = [[{k: v for k, v in f.items() if k not in SHAPE_FEATURES} for f in row] for row in self.feats]
        self.learned_cache: dict[tuple[str, ...], np.ndarray] = {}
        self.behaviour: list[BehaviourReport | None] = [None] * len(prompts)
        """Per code prompt, every model's answer run on the example inputs (``execute``); pairwise agreement
        there is exactly what :class:`BehaviourAgreementValidator` computes for two drafts at run time."""
        if execute:
            self._run_code(kind)

        if checks:
            from cascadeflow.cascade.quality.composite import build_validator
            from cascadeflow.config import QualityConfig

            rule = build_validator(QualityConfig.for_cascade())
            for row, p in zip(self.feats, prompts, strict=True):
                for feats, m in zip(row, models, strict=True):
                    scores = rule_scores(p.prompt, p.answers[m].answer, rule)
                    feats.update({f"check:{k}": v for k, v in scores.items()})

    def _run_code(self, kind: str) -> None:
        from cascadeflow.cascade.quality.code_behaviour import BehaviourRunner, ExecutionLimits
        from cascadeflow.cascade.quality.sandbox import Sandbox

        # Each answer runs in its own sandbox; give it the time of a few runtime comparisons.
        runner = BehaviourRunner(Sandbox.detect("execute_code"), ExecutionLimits(wall_s=60.0, cpu_s=60))
        todo = [n for n, p in enumerate(self.prompts) if (kind if kind != "auto" else detect_kind(p.prompt)) == "code"]
        answers = [self.prompts[n].answers for n in todo]
        batch = [{m: code for m in self.models if (code := extract_python(a[m].answer)) is not None} for a in answers]
        for n, report in zip(todo, runner.run_many(batch), strict=True):
            self.behaviour[n] = report

    def col(self, model: str) -> int:
        return self.models.index(model)

    def agrees(self, n: int, a: int, b: int) -> bool:
        """Whether prompt ``n``'s answers of models ``a`` and ``b`` agree (by behaviour when it was run)."""
        report = self.behaviour[n]
        if report is not None:
            return report.agree(self.models[a], self.models[b]) is True
        return self.norm[n][a] is not None and self.norm[n][a] == self.norm[n][b]

    def features(self, chain: Sequence[str], position: int) -> list[dict[str, float]]:
        """Learned-scorer features of tier ``position`` (same composition as ``LearnedScorer.features``)."""
        j = self.col(chain[position])
        peers = list(chain[:position])
        cols = [self.col(p) for p in peers]
        rows = []
        for n in range(len(self.prompts)):
            row = dict(self.feats[n][j])
            previous = [(p, self.norm[n][c]) for p, c in zip(peers, cols, strict=True)]
            row.update(agreement_features(self.norm[n][j], previous, peers))
            rows.append(row)
        return rows

    def agreement_scores(self, chain: Sequence[str], position: int) -> np.ndarray:
        import numpy as np

        j = self.col(chain[position])
        if position == 0:
            return np.zeros(len(self.prompts))
        cols = [self.col(p) for p in chain[:position]]
        hits = [[self.agrees(n, j, c) for c in cols] for n in range(len(self.prompts))]
        return np.asarray(np.array(hits, dtype=float).mean(axis=1))


def _fold_ids(count: int, folds: int, seed: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(count) % folds)


def _learned_column(prep: _Prepared, chain: Sequence[str], folds: np.ndarray) -> np.ndarray:
    """Out-of-fold P(correct) of the chain's last tier given the tiers before it."""
    import numpy as np

    i, model = len(chain) - 1, chain[-1]
    out = np.zeros(len(prep.prompts))
    rows = prep.features(chain, i)
    labels = prep.correct[:, prep.col(model)] > 0
    for f in np.unique(folds):
        train = np.flatnonzero(folds != f)
        scorer = fit_scorer([rows[n] for n in train], labels[train].tolist(), peers=chain[:i], kind=prep.kind,
                            checks=prep.checks)
        for n in np.flatnonzero(folds == f):
            out[n] = scorer.probability(rows[n])
    return out


def _learned_scores(prep: _Prepared, chain: Sequence[str], folds: np.ndarray) -> np.ndarray:
    """Out-of-fold P(correct) for every tier of the chain (N x k). A tier's score depends only on the tiers
    before it, so columns are cached by chain prefix (chains searched in any order share many prefixes)."""
    import numpy as np

    columns = []
    for i in range(len(chain)):
        prefix = tuple(chain[: i + 1])
        if prefix not in prep.learned_cache:
            prep.learned_cache[prefix] = _learned_column(prep, prefix, folds)
        columns.append(prep.learned_cache[prefix])
    return np.column_stack(columns)


def _matrices(prep: _Prepared, chain: Sequence[str], top: str, scores: np.ndarray) -> Matrices:
    cols = [prep.col(m) for m in (*chain, top)]
    return Matrices(scores=scores, cost=prep.cost[:, cols], correct=prep.correct[:, cols])


def _scores(prep: _Prepared, chain: Sequence[str], strategy: str, folds: np.ndarray) -> np.ndarray:
    import numpy as np

    if strategy == "learned":
        return _learned_scores(prep, chain, folds)
    return np.column_stack([prep.agreement_scores(chain, i) for i in range(len(chain))])


def _seed_chains(cheap: Sequence[str], max_tiers: int) -> list[tuple[str, ...]]:
    """Every ordered chain of one or two cheap models (fewer if ``max_tiers`` says so)."""
    return [c for k in range(1, min(max_tiers, 2) + 1) for c in itertools.permutations(cheap, k)]


def _extend(best: Sequence[Candidate], cheap: Sequence[str], seen: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The chains one tier longer than each of ``best`` (any unused cheap model appended), not seen before."""
    out = []
    for cand in best:
        for model in cheap:
            chain = (*cand.chain, model)
            if model not in cand.chain and chain not in seen:
                seen.add(chain)
                out.append(chain)
    return out


def _pick_models(prompts: Sequence[RecordedPrompt], settings: CalibrationSettings) -> list[str]:
    shared = set(prompts[0].answers)
    for p in prompts[1:]:
        shared &= set(p.answers)
    wanted = set(settings.models) | set(settings.chain)
    models = [m for m in prompts[0].answers if m in shared and (not wanted or m in wanted)]
    missing = sorted(wanted - shared)
    if missing:
        raise ConfigError("models", f"not recorded for every prompt: {missing}")
    if len(models) < 2:
        raise ConfigError("models", f"need at least two models answering every prompt, got {models}")
    return models


def _tiers(prep: _Prepared, settings: CalibrationSettings) -> tuple[str, list[str]]:
    """The top model (given, or the most accurate; cheaper wins ties) and the affordable cheap models,
    cheapest first (the order chains are enumerated in)."""
    import numpy as np

    if settings.chain:
        return settings.chain[-1], list(settings.chain[:-1])
    accuracy, mean_cost = prep.correct.mean(axis=0), prep.cost.mean(axis=0)
    top = settings.top_model or prep.models[int(np.lexsort((mean_cost, -accuracy))[0])]
    if top not in prep.models:
        raise ConfigError("top_model", f"{top!r} is not among the recorded models {prep.models}")
    limit = settings.max_tier_cost_ratio * mean_cost[prep.col(top)]
    cheap = [m for m in prep.models if m != top and mean_cost[prep.col(m)] <= limit]
    return top, sorted(cheap, key=lambda m: float(mean_cost[prep.col(m)]))


def _screen(
    prep: _Prepared, top: str, cheap: Sequence[str], settings: CalibrationSettings, folds: np.ndarray,
    progress: Progress | None,
) -> list[Candidate]:
    """Every chain × strategy with thresholds fitted on all prompts' out-of-fold scores."""
    goal = settings.target_quality + settings.margin
    chains = [tuple(settings.chain[:-1])] if settings.chain else _seed_chains(cheap, settings.max_tiers)
    seen = set(chains)
    screened: list[Candidate] = []
    length = min(settings.max_tiers, 2)
    while chains:
        jobs = [(c, s) for c in chains for s in settings.strategies]
        for done, (chain, strategy) in enumerate(jobs, 1):
            mats = _matrices(prep, chain, top, _scores(prep, chain, strategy, folds))
            thresholds, fit = choose_thresholds(mats, None, goal, settings.delta)
            screened.append(Candidate(chain, strategy, thresholds, fit, mats))
            if progress:
                progress(f"screen {length}-tier chains", done, len(jobs))
        if length >= settings.max_tiers or settings.chain:
            break
        longest = [c for c in screened if len(c.chain) == length]
        best = sorted(longest, key=lambda c: (c.fit.quality_ratio < goal, c.fit.cost_ratio))[: settings.beam]
        chains, length = _extend(best, cheap, seen), length + 1
    return screened


def _cross_validate(
    shortlist: Sequence[Candidate], settings: CalibrationSettings, folds: np.ndarray, progress: Progress | None
) -> None:
    """Held-out estimate of each shortlisted candidate: with risk control, thresholds chosen by the bound on the
    other folds; without, at the smallest margin that keeps the target."""
    margins = [settings.margin] if settings.delta is not None else (
        [m for m in MARGIN_STEPS if m >= settings.margin] or [settings.margin])
    for done, cand in enumerate(shortlist, 1):
        for margin in margins:
            cand.margin = margin
            cand.cv = evaluate(cand.mats, folds, settings.target_quality + margin, settings.delta)
            if cand.cv.quality_ratio >= settings.target_quality:
                break
        if progress:
            progress("cross-validate", done, len(shortlist))


def calibrate(
    prompts: Sequence[RecordedPrompt], settings: CalibrationSettings | None = None, *, progress: Progress | None = None
) -> CalibrationResult:
    """Search chains × strategies × thresholds; return the cheapest plan meeting the target under CV."""
    settings = settings or CalibrationSettings()
    if not prompts:
        raise ConfigError("data", "no labelled prompts to calibrate on")
    prep = _Prepared(prompts, _pick_models(prompts, settings), settings.kind, settings.checks, settings.execute_code,
                     settings.features == "robust")
    top, cheap = _tiers(prep, settings)
    folds = _fold_ids(len(prompts), settings.folds, settings.seed)
    screened = _screen(prep, top, cheap, settings, folds, progress)
    goal = settings.target_quality + settings.margin
    shortlist = sorted(screened, key=lambda c: (c.fit.quality_ratio < goal, c.fit.cost_ratio))[: settings.shortlist]
    _cross_validate(shortlist, settings, folds, progress)
    best = _select(shortlist, settings.target_quality)
    plan = _final_plan(prep, best, top, settings)
    table = [c.summary() for c in sorted(screened, key=lambda c: c.fit.cost_ratio)]
    estimate = best.cv if best.cv is not None else best.fit
    return CalibrationResult(plan, estimate, top, table, estimate.quality_ratio >= settings.target_quality)


def _select(shortlist: Sequence[Candidate], target: float) -> Candidate:
    ok = [c for c in shortlist if c.cv is not None and c.cv.quality_ratio >= target]
    if ok:
        return min(ok, key=lambda c: c.cv.cost_ratio if c.cv else 0.0)
    return max(shortlist, key=lambda c: c.cv.quality_ratio if c.cv else 0.0)


def _final_plan(prep: _Prepared, best: Candidate, top: str, settings: CalibrationSettings) -> CascadePlan:
    """Refit learned scorers on all prompts; thresholds are chosen on the out-of-fold scores of all prompts at
    the margin cross-validation settled on."""
    import numpy as np

    thresholds, fit = choose_thresholds(best.mats, None, settings.target_quality + best.margin, settings.delta)
    best.thresholds, best.fit = thresholds, fit
    everyone = np.arange(len(prep.prompts))
    tiers: list[TierPlan] = []
    base = {"provider": settings.provider}
    for i, model in enumerate(best.chain):
        threshold = float(best.thresholds[i])
        never = threshold > 1.0
        if best.strategy == "agreement" and (i == 0 or never):
            tiers.append(TierPlan(model, "collect", None, base))
        elif best.strategy == "agreement":
            spec: dict[str, Any] = {"kind": settings.kind, "min_agree": 1, "peers": list(best.chain[:i])}
            if settings.execute_code:
                spec["execute"] = True
            tiers.append(TierPlan(model, "agreement", threshold, base, params={"agreement": spec}))
        else:
            rows = prep.features(best.chain, i)
            labels = (prep.correct[:, prep.col(model)] > 0).tolist()
            scorer = fit_scorer(rows, labels, peers=best.chain[:i], kind=prep.kind, checks=prep.checks)
            tiers.append(TierPlan(model, "collect" if never else "learned", None if never else threshold, base,
                                  params={} if never else {"learned": scorer.to_dict()}))
    tiers.append(TierPlan(top, "rule", None, base))
    cv = best.cv
    calibration = {
        "target_quality": settings.target_quality,
        "margin": best.margin,
        "folds": settings.folds,
        "prompts": len(prep.prompts),
        "top_model": top,
        "strategy": best.strategy,
        "cv_quality_ratio": None if cv is None else round(cv.quality_ratio, 4),
        "cv_cost_ratio": None if cv is None else round(cv.cost_ratio, 4),
        "fit_quality_ratio": round(best.fit.quality_ratio, 4),
        "fit_cost_ratio": round(best.fit.cost_ratio, 4),
    }
    if settings.delta is not None:
        # The plan's promise: its quality ratio on prompts like these is at least this, with 1 - delta confidence.
        calibration["risk_control"] = {
            "method": "Clopper-Pearson bounds on losses, gains and the top model's accuracy (union bound)",
            "delta": settings.delta,
            "quality_lower_bound": round(lower_quality(best.mats, thresholds, everyone, settings.delta), 4),
        }
    # The plan is tried exactly as it was measured, whatever the tiers' list prices say.
    return CascadePlan(tuple(tiers), dict.fromkeys(COMPLEXITY_LEVELS, 0), None, calibration, tier_order="given")
