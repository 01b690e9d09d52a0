"""``run_checks``: every statement of STATEMENTS checked numerically on generated problems.

Each *family* draws problems under its constraints (``random_spec``) and measures several
(statement id, method) pairs per problem; the results are aggregated per pair into a
``CheckResult`` and judged by a decision rule fixed here, before any data is seen (RULES).
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch

from gftheory.checks import approximations, beyond, identities
from gftheory.checks.generators import ARCHS, SMOOTH_ACTIVATIONS, build_problem, random_spec
from gftheory.checks.numerics import Observation
from gftheory.profiles import profile_name
from gftheory.statements import STATEMENTS


@dataclass(frozen=True)
class Rule:
    """kind "max": worst value ≤ tol; "range": every fitted order in [lo, hi];
    "info": reported, no verdict (always passes)."""
    kind: str
    tol: float | None = None
    lo: float | None = None
    hi: float | None = None

    def text(self) -> str:
        if self.kind == "max":
            return f"worst ≤ {self.tol:g}"
        if self.kind == "range":
            return f"fitted order ∈ [{self.lo:g}, {self.hi:g}]"
        return "reported only"


MAX_REL_TRAJECTORY = Rule("max", tol=1e-4)     # 5-point stencils in t, h = 0.002 / time scale
MAX_REL_TRAJECTORY_D2 = Rule("max", tol=1e-3)  # second derivatives in t: round-off grows as 1/h²
MAX_REL_EXACT = Rule("max", tol=1e-9)          # two float64 routes to the same number
ORDER_2 = Rule("range", lo=1.8, hi=2.2)
ORDER_3 = Rule("range", lo=2.7, hi=3.3)
NO_VIOLATION = Rule("max", tol=0.0)
SCALE_INVARIANCE = Rule("max", tol=1e-6)       # BN ε = 1e-12, integration rtol 1e-10
BALANCE_DRIFT = Rule("max", tol=1e-3)          # drift / change of ‖w_in‖², ReLU kinks, rtol 1e-9

RULES: dict[tuple[str, str], Rule] = {}
for _id in ("F1", "F2", "F3", "F4", "F1_unit", "F4_unit", "F5", "O2", "F1_wd"):
    RULES[(_id, "trajectory-fd")] = MAX_REL_TRAJECTORY
    RULES[(_id, "dense-hessian")] = MAX_REL_EXACT
RULES[("F4", "trajectory-fd")] = RULES[("F4_unit", "trajectory-fd")] = MAX_REL_TRAJECTORY_D2
RULES.update({
    ("T0", "epsilon-order"): ORDER_3,
    ("T0", "quality-at-theta"): Rule("info"),
    ("T1", "epsilon-order"): ORDER_2,
    ("T2", "epsilon-order"): ORDER_2,
    ("MASK", "autograd-mask-elementwise"): MAX_REL_EXACT,
    ("MASK", "autograd-mask-unit"): MAX_REL_EXACT,
    ("MASK", "mask-vs-measure"): MAX_REL_EXACT,
    ("ELEMENTWISE_BOUND", "bound"): Rule("max", tol=1e-12),
    ("ELEMENTWISE_BOUND", "autograd-reference"): MAX_REL_EXACT,
    ("GRASP_SIGN", "actual-removal-argmin"): NO_VIOLATION,
    ("GRASP_SIGN", "actual-removal-ranking"): NO_VIOLATION,
    ("SCALE_INVARIANT_RANKING", "autograd-rescaled-loss"): NO_VIOLATION,
    ("BN_SCALE", "autograd-cosine"): SCALE_INVARIANCE,
    ("BN_SCALE", "trajectory-norm-drift"): SCALE_INVARIANCE,
    ("BN_SCALE", "lp-degenerate"): SCALE_INVARIANCE,
    ("BN_SCALE", "elementwise-not-degenerate"): NO_VIOLATION,
    ("BALANCE", "autograd"): MAX_REL_EXACT,
    ("BALANCE", "trajectory"): BALANCE_DRIFT,
})
METRIC = {"rel_err": "max rel err", "violation": "max violation", "order": "fitted order",
          "info": "max rel err"}


# -- families -------------------------------------------------------------------------
def _trajectory(r: random.Random) -> list[Observation]:
    p = build_problem(random_spec(r, max_params=1500))
    lam = math.exp(r.uniform(math.log(0.01), math.log(1.0)))
    return identities.trajectory_fd(p) + identities.trajectory_fd(p, weight_decay=lam)


def _dense(r: random.Random) -> list[Observation]:
    p = build_problem(random_spec(r, max_params=250, activations=SMOOTH_ACTIVATIONS + ("relu",)))
    return identities.dense_formulas(p, weight_decay=math.exp(r.uniform(math.log(0.01), 0.0)))


def _measures(r: random.Random) -> list[Observation]:
    p = build_problem(random_spec(r, max_params=400, activations=SMOOTH_ACTIVATIONS + ("relu",)))
    alpha = math.exp(r.uniform(math.log(1e-3), math.log(1e3)))
    out = identities.mask_identity(p) + identities.elementwise_bound(p) \
        + identities.scale_invariant_ranking(p, alpha)
    smooth = build_problem(random_spec(r, max_params=400))
    return out + approximations.grasp_sign(smooth)


def _order(r: random.Random) -> list[Observation]:
    out = approximations.t1_t2_order(build_problem(random_spec(r, max_params=400)))
    return out + approximations.t0_order(build_problem(
        random_spec(r, max_params=400, batchnorm=(False,), bias=(True,))))


def _bn(r: random.Random) -> list[Observation]:
    through_relu = r.random() < 0.5
    spec = random_spec(r, max_params=600, batchnorm=(True,), bias=(False,), bn_eps=beyond.BN_EPS,
                       bn_positions=("after",) if through_relu else ("before",),
                       activations=("relu",) if through_relu else SMOOTH_ACTIVATIONS + ("relu",))
    return beyond.bn_scale(build_problem(spec))


def _balance(r: random.Random) -> list[Observation]:
    spec = random_spec(r, max_params=400, batchnorm=(False,), bias=(False,), activations=("relu",),
                       archs=ARCHS)
    return beyond.balance(build_problem(spec))


@dataclass(frozen=True)
class Family:
    name: str
    run: Callable[[random.Random], list[Observation]]
    ids: tuple[str, ...]
    methods: tuple[str, ...]


_IDS_F = ("F1", "F1_unit", "F1_wd", "F2", "F3", "F4", "F4_unit", "F5", "O2")
FAMILIES = (
    Family("trajectory", _trajectory, _IDS_F, ("trajectory-fd",)),
    Family("dense", _dense, _IDS_F, ("dense-hessian",)),
    Family("measures", _measures, ("MASK", "ELEMENTWISE_BOUND", "SCALE_INVARIANT_RANKING", "GRASP_SIGN"),
           ("autograd-mask-elementwise", "autograd-mask-unit", "mask-vs-measure", "bound",
            "autograd-reference", "actual-removal-argmin", "actual-removal-ranking",
            "autograd-rescaled-loss")),
    Family("order", _order, ("T0", "T1", "T2"), ("epsilon-order", "quality-at-theta")),
    Family("bn", _bn, ("BN_SCALE",), ("autograd-cosine", "trajectory-norm-drift", "lp-degenerate",
                                         "elementwise-not-degenerate")),
    Family("balance", _balance, ("BALANCE",), ("autograd", "trajectory")),
)
CASES = {  # generated problems per family and profile
    "ci": {"trajectory": 8, "dense": 6, "measures": 8, "order": 6, "bn": 6, "balance": 5},
    "thorough": {"trajectory": 80, "dense": 60, "measures": 80, "order": 60, "bn": 60, "balance": 50},
}
SEEDS = {"ci": 20210503, "thorough": None}     # thorough: a fresh seed each run (recorded)
MAX_DRAWS = 4    # a family may redraw a degenerate case up to this many times per case


@dataclass
class CheckResult:
    id: str
    method: str
    cases: int
    worst_rel_error: float | None
    fitted_order: float | None
    tolerance: str
    passed: bool
    seconds: float
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _aggregate(sid: str, method: str, obs: list[Observation], seconds: float, extra: dict
               ) -> CheckResult:
    rule = RULES[(sid, method)]
    kind = obs[0].kind if obs else "rel_err"
    values = [o.value for o in obs]
    details = {"metric": METRIC.get(kind, kind), "decision_rule": rule.text(), **extra}
    worst_err = fitted = None
    if not values:
        passed = False
        details["reason"] = "no case could be measured"
    elif rule.kind == "range":
        finite = [v for v in values if math.isfinite(v)]
        fitted = max(values, key=lambda v: abs(v - (rule.lo + rule.hi) / 2) if math.isfinite(v) else math.inf)
        details["order_min"], details["order_max"] = (min(finite), max(finite)) if finite else (None, None)
        passed = all(math.isfinite(v) and rule.lo <= v <= rule.hi for v in values)
    else:
        worst_err = max(values)
        passed = True if rule.kind == "info" else all(math.isfinite(v) and v <= rule.tol for v in values)
        if rule.kind == "info":
            details["informational"] = True
            details["median"] = sorted(values)[len(values) // 2]
    if not passed and values:
        bad = max(obs, key=lambda o: o.value if rule.kind != "range" else abs(o.value - (rule.lo + rule.hi) / 2))
        details["worst_case"] = bad.case
    return CheckResult(sid, method, len(values), worst_err, fitted, rule.text(), bool(passed),
                       round(seconds, 3), details)


@contextmanager
def single_thread():
    """Tiny models: one torch thread is fastest, and immune to a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def run_checks(profile: str = "ci", ids=None, progress=None, seed: int | None = None
               ) -> list[CheckResult]:
    """Run the checks of ``profile`` (ci | thorough) for ``ids`` (default: every id of
    STATEMENTS); ``progress(str)`` receives one line per finished family."""
    with single_thread():
        return _run_checks(profile, ids, progress, seed)


def _run_checks(profile, ids, progress, seed) -> list[CheckResult]:
    name = profile_name(profile)
    wanted = list(STATEMENTS) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in STATEMENTS]
    if unknown:
        raise ValueError(f"unknown statement ids {unknown}; known: {', '.join(STATEMENTS)}")
    if seed is None:
        seed = SEEDS[name] if SEEDS[name] is not None else random.SystemRandom().randrange(2 ** 31)
    results: list[CheckResult] = []
    for fam in FAMILIES:
        if not set(fam.ids) & set(wanted):
            continue
        r = random.Random(f"{seed}-{fam.name}")
        t0 = time.perf_counter()
        obs: list[Observation] = []
        skipped, errors = 0, []
        for _ in range(CASES[name][fam.name]):
            for _attempt in range(MAX_DRAWS):
                try:
                    obs += fam.run(r)
                    break
                except approximations.Degenerate:
                    skipped += 1
                except Exception as exc:  # a crash is a failure of the check, not of the run
                    errors.append(f"{type(exc).__name__}: {exc}")
                    break
        seconds = time.perf_counter() - t0
        groups: dict[tuple[str, str], list[Observation]] = {}
        for o in obs:
            groups.setdefault((o.id, o.method), []).append(o)
        keys = [k for k in RULES if k[0] in fam.ids and k[0] in wanted and k[1] in fam.methods]
        for k in keys:
            extra = {"family": fam.name, "seed": seed, "degenerate_redraws": skipped}
            if errors:
                extra["errors"] = errors[:5]
            res = _aggregate(*k, groups.get(k, []), seconds / max(1, len(keys)), extra)
            if errors:
                res.passed = False
            results.append(res)
        if progress is not None:
            progress(f"{fam.name}: {len(obs)} observations, {skipped} redraws, "
                     f"{len(errors)} errors, {seconds:.1f}s")
    order = {sid: k for k, sid in enumerate(STATEMENTS)}
    results.sort(key=lambda res: order[res.id])
    return results
