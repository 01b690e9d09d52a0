"""The stage-2 (confirmatory) plan: from the stage-1 evidence, the seeds every rule × cell needs,
what they cost on this machine, and which cells a compute budget buys (issue 23, ``gftheory plan``).

**Cells.** Every claim × rule (rules version 4: ``registry.v4_rules``, each rule with its primary
evidence) × (architecture, dataset) on the rule's *primary* evidence, mapped to its stage-2
protocol (STAGE2): stage-1 runs at scale ``cpu`` → ``cpu2`` (the cpu protocol with the importance
computed on 2,560 images instead of 256); event studies (scale ``events``) → ``events`` edition 2.
Cells on non-primary evidence never decide under rules v4 and are not planned (the plan counts
them). A rule × cell without a stage-1 estimate rides on the seed list its (architecture, protocol)
gets (``RIDE_TEXT``). Stage-1 cells come from ``decide.rule_cells4`` (rules v4's own cells: pairing proven by
fingerprints, 'not applicable' metrics) or, where that module is absent, ``verdicts.rule_cells``.

**Effect and spread.** D = the stage-1 difference in the claimed direction; its sd is the sd of
the per-seed differences when the stage-1 cell pairs (event studies by construction; cpu runs of
one seed share initialisation and data order, proven by their fingerprints), else the two group
sds (Welch, conservative: stage 2 pairs by design). The test planned for is the one the observed
D points to (``TARGET_TEXT``): D > c_confirm → confirmation at α (intersection–union: the claim's
rules each at α, no correction); D < c_contra → contradiction at α/k and |D| < δ (where the rule
allows equivalence) → TOST at α/k, k = the claim's rules in that cell (Holm's first step, the
strictest level a rule meets under Holm over the claim's rules in the cell). n = the smallest n ≥ 3
with power ≥ 0.8 (``power.n_for_power``, exact noncentral t); more than N_MAX, or no test the
effect points to → "not decidable on this machine".

**Cost.** A seed of an (architecture, protocol) costs the process-seconds of the runs its planned
rules need for that seed, each (measure, seed) run once however many rules use it (the dense
baseline ``none`` is a measure too); an event study runs every measure at once and costs one study
per seed. Runs share the machine's two cores two at a time, each on one core: wall-hours =
process-hours / PARALLEL (2). Seconds per run: the costs file (``--costs``) where it names them,
else stage 1's recorded seconds (mean over seeds) × the file's factor, else × 1.0 with the flag
"costs not measured for stage 2".

**Selection.** Groups (claim, architecture, dataset, protocol) in the registered PRIORITY order
(the paper's headline claims first) are included greedily when their added cost fits the budget;
n per (architecture, protocol) is the largest n of its included groups, and every included cell
gets that whole seed list (its power there is ≥ its needed power). A group that does not fit is
listed as "does not fit the budget", never dropped.

**Seeds.** Fresh: never a seed of a stored run or of another plan under ``<results>/plans``, only
3–99 (0–2 are stage 1's). cpu2 takes the first block of fresh seeds, the event studies the next
block (disjoint numbers: a cpu2 run and an event study of one architecture with one seed would
start from the same initialisation, and E5 combines the two kinds; disjoint blocks keep them
independent replications); within a protocol every architecture and every measure uses the same
list from its start, so runs pair.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gftheory.claims import power as _power
from gftheory.claims import rules
from gftheory.claims.registry import CLAIMS
from gftheory.errors import UsageError

PLAN_FORMAT = 1
PARALLEL = 2                        # runs at once on this machine (2 cores, one torch thread each)
DEFAULT_BUDGET_HOURS = 20.0
SEED_MIN, SEED_MAX = 3, 99          # seeds reserved for plans (0-2: stage 1)
N_MAX = _power.N_MAX
GOAL = rules.POWER
STAGE2 = {"cpu": "cpu2", "events": "events"}          # stage-1 scale → stage-2 protocol
EVIDENCE_SCALE = {"runs": "cpu", "events": "events"}  # primary evidence → the stage-1 scale it is planned from
PLAN_DATASETS = ("cifar10",)       # CIFAR-100 has no data on this machine: no stage-1 cell, nothing to plan
COSTS_FILE = Path("timing") / "stage2_costs.json"    # under --results
# the order in which groups are considered: the paper's headline claims first, then the registry's order
# (issue 25's order for cpu2: E1 and E7's cells, then the layer-matched random arms (LMRF) and issue 24's
# quota-matched MobileNet-V1 control (E5QF); then the event studies' headline claims)
PRIORITY = (("E1", "cpu2"), ("E7", "cpu2"), ("LMRF", "cpu2"), ("E5QF", "cpu2"), ("E4", "events"),
            ("E5", "events"), ("T1S", "events"), ("T2S", "events"))
PROTOCOL = {
    "cpu2": {"stage1_scale": "cpu", "name": "cpu2",
             "description": "the stage-1 cpu scale (docs/protocol.md, 'The cpu scale') with the importance computed on "
                            "2,560 class-balanced training images instead of 256; every other setting unchanged",
             "pairing": "every measure of an architecture runs the same seed list; each run records its pairing "
                        "fingerprint (init, data order, probe), and a cell pairs the seeds whose fingerprints match "
                        "(rules.PAIRING_TEXT)",
             "precision": {"resnet56": "bf16-if-equivalent", "mobilenet_v1": "fp32", "vgg13": "fp32"},
             "precision_rule": "training precision per architecture, fixed before the data: MobileNet-V1 (and VGG-13) "
                               "fp32 — bf16 is not faster there (results/timing/bf16_step_costs.json); ResNet-56 bf16 "
                               "autocast only if the registered bf16/fp32 equivalence check "
                               "(results/plans/bf16-equivalence.json) reads 'equivalent' with every pair's pairing "
                               "proven, fp32 if it reads 'not shown equivalent'; its runs wait until it is decided "
                               "(scripts/campaign.py precision_for). Scoring, probes and every gradient-flow quantity "
                               "are fp32 in every run. Costs are priced at fp32 (an upper bound)"},
    "events": {"stage1_scale": "events", "name": "events", "edition": 2,
               "description": "the event study (gftheory events, docs/protocol.md) as in stage 1, edition 2, on fresh "
                              "seeds; each study's config records its exact settings; the dense trajectory trains in "
                              "fp32 (the bf16 check tests final accuracy of prune-while-training runs, not the "
                              "checkpoint states an event study measures)",
               "pairing": "every measure prunes the same checkpoints with the same importance sample and probe: paired "
                          "by construction"},
}
TARGET_TEXT = ("the test the stage-1 effect points to: confirmation (D > confirm threshold) at α, each rule of a claim "
               "at α (intersection–union); contradiction (D < contradict threshold) and equivalence (|D| < δ, TOST, "
               "where the rule allows it) at α/k, k = the claim's rules in the cell (Holm's first step)")
RIDE_TEXT = ("a rule × cell without a stage-1 estimate (a rule registered after stage 1, or a cell stage 1 never ran) "
             "has no effect to power from: it takes the seed list the plan gives its (architecture, protocol) for the "
             "cells with an estimate (an event study records every rule's data at no added cost; prune-while-training "
             "arms add their runs, included per claim cell when they fit the budget), and never drives n; with no "
             f"such seed list of ≥ {rules.MIN_SEEDS} seeds it is not decidable on this machine")
WALL_TEXT = (f"wall-hours = process-hours / {PARALLEL}: runs share the machine's {PARALLEL} cores {PARALLEL} at a time, "
             f"one torch thread each")


# ---------------------------------------------------------------- stage-1 cells
@dataclass
class Stage1Cell:
    """One rule in one stage-1 cell, reduced to what the plan needs."""
    claim: str
    rule: object                   # the v4 Rule
    label: str
    arch: str
    dataset: str
    scale: str                     # stage-1 scale (cpu | events)
    protocol: str                  # stage-1 protocol key
    primary: bool
    a: dict                        # {"values": [...], "seeds": [...]}
    b: dict | None
    paired: bool = False
    test: str = ""
    not_applicable: str = ""       # reason, when rules v4 says the metric cannot measure the rule here


def _v4_rules(claim):
    try:
        from gftheory.claims.registry import v4_rules
    except ImportError:            # rules v3: every rule as it is, primary by its metric
        from gftheory.claims.rules import MIN_EFFECT  # noqa: F401
        run_only = ("final_acc", "train_loss_speed", "eval_acc_speed")
        return tuple((r, "runs" if r.metric in run_only or "events" not in claim.evidence else "events")
                     for r in claim.comparisons)
    return v4_rules(claim)


def stage1_cells(runs) -> list[Stage1Cell]:
    """Every rule × cell of every claim over the stage-1 runs (primary or not)."""
    try:
        from gftheory.claims.decide import NOT_APPLICABLE, rule_cells4
    except ImportError:
        return _stage1_cells_v3(runs)
    out = []
    for cid, claim in CLAIMS.items():
        if not claim.comparisons:
            continue
        by_label = {r.label(): r for r, _ in _v4_rules(claim)}
        for c in rule_cells4(claim, runs):
            test = c.test or ""
            paired = bool(c.b is not None and test.startswith("paired"))
            out.append(Stage1Cell(cid, by_label[c.rule], c.rule, c.arch, c.dataset, c.scale, c.protocol, c.primary,
                                  {"values": list(c.a.get("values", [])), "seeds": list(c.a.get("seeds", []))},
                                  None if c.b is None else {"values": list(c.b.get("values", [])),
                                                            "seeds": list(c.b.get("seeds", []))},
                                  paired, test, c.reason if c.verdict == NOT_APPLICABLE else ""))
    return out


def _stage1_cells_v3(runs) -> list[Stage1Cell]:
    """The same from rules v3's ``verdicts.rule_cells`` (no fingerprints: same seeds on both sides
    of a cpu or event cell pair, as their shared initialisation and data order make them)."""
    from gftheory.claims.verdicts import rule_cells
    from gftheory.runstore import EVENT_STUDY
    out = []
    for cid, claim in CLAIMS.items():
        mine = [r for r in runs if ("events" if r.config.get("kind") == EVENT_STUDY else "runs") in claim.evidence]
        for rule, primary in _v4_rules(claim):
            for c in rule_cells(rule, mine, claim.archs, claim.datasets):
                ev = "events" if c.scale == "events" else "runs"
                paired = bool(c.b is not None and c.a.get("seeds") == c.b.get("seeds"))
                out.append(Stage1Cell(cid, rule, rule.label(), c.arch, c.dataset, c.scale, c.protocol, ev == primary,
                                      {"values": list(c.a["values"]), "seeds": list(c.a.get("seeds", []))},
                                      None if c.b is None else {"values": list(c.b["values"]),
                                                                "seeds": list(c.b.get("seeds", []))},
                                      paired, "paired t (same seeds)" if paired else ("Welch t" if c.b else "one-sample t")))
    return out


def run_measures(rule, protocol: str) -> list:
    """The measures whose runs a rule needs on a protocol: its own, and on prune-while-training
    protocols the quota source of every arm ('grasp@magnitude' needs the same seed's magnitude run,
    rules.ARM_TEXT); an event study holds its arms itself."""
    out = list(rule.measures())
    if protocol != "events":
        for m in rule.measures():
            if rules.ARM_SEP in m:
                src = m.split(rules.ARM_SEP, 1)[1]
                if src not in out:
                    out.append(src)
    return out


# ---------------------------------------------------------------- effect, spread, needed n
def _mean(x):
    return sum(x) / len(x)


def _sd(x):
    m = _mean(x)
    return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))


def estimate(cell: Stage1Cell) -> dict | None:
    """{"effect", "sd", "sd_b", "design", "n1"} from the stage-1 values, or None with fewer than 2
    values (pairs) per group."""
    rule = cell.rule
    sign = 1.0 if rule.direction == "higher" else -1.0
    va = cell.a["values"]
    if cell.b is None:
        if len(va) < 2:
            return None
        return {"effect": sign * _mean(va), "sd": _sd(va), "sd_b": None, "design": "one-sample", "n1": len(va)}
    vb = cell.b["values"]
    if cell.paired:
        d = [x - y for x, y in zip(va, vb)]
        if len(d) < 2:
            return None
        return {"effect": sign * _mean(d), "sd": _sd(d), "sd_b": None, "design": "paired", "n1": len(d)}
    if len(va) < 2 or len(vb) < 2:
        return None
    return {"effect": sign * (_mean(va) - _mean(vb)), "sd": _sd(va), "sd_b": _sd(vb), "design": "welch",
            "n1": min(len(va), len(vb))}


def equivalence_allowed(rule) -> bool:
    f = getattr(rules, "equivalence_allowed", None)
    return bool(f(rule)) if f is not None else False


def needed(rule, est: dict, k: int, confirm_only: bool = False) -> dict:
    """The test the effect points to and its n (``TARGET_TEXT``): {"target", "alpha", "n", "why"}."""
    above, below = rule.thresholds()
    d, sd, sd_b, design = est["effect"], est["sd"], est["sd_b"], est["design"]
    kw = dict(design=design, sd_b=sd_b, goal=GOAL, n_max=N_MAX)
    if sd == 0.0 and (sd_b or 0.0) == 0.0:
        return {"target": None, "alpha": None, "n": None, "why": "zero spread in stage 1 (degenerate): no variance "
                                                                 "to plan from"}
    if d > above:
        return {"target": "confirm", "alpha": rules.ALPHA, "why": "",
                "n": _power.n_for_power(d, sd, threshold=above, alpha=rules.ALPHA, **kw)}
    if confirm_only:
        return {"target": None, "alpha": None, "n": None,
                "why": f"observed D = {d:.4g} ≤ the confirm threshold {above:g}: no n confirms it"}
    alpha_k = rules.ALPHA / max(k, 1)
    if d < below:
        return {"target": "contradict", "alpha": alpha_k, "why": "",
                "n": _power.n_for_power(-d, sd, threshold=-below, alpha=alpha_k, **kw)}
    if equivalence_allowed(rule) and -rule.delta < d < rule.delta:
        return {"target": "equivalence", "alpha": alpha_k, "why": "",
                "n": _power.n_for_power(d, sd, target="equivalence", delta=rule.delta, alpha=alpha_k, **kw)}
    return {"target": None, "alpha": None, "n": None,
            "why": f"observed D = {d:.4g} lies between the contradict threshold {below:g} and the confirm threshold "
                   f"{above:g} and the rule has no equivalence verdict: no test it points to"}


def power_at(rule, est: dict, target: str, alpha: float, n: int) -> float:
    above, below = rule.thresholds()
    kw = dict(design=est["design"], sd_b=est["sd_b"], alpha=alpha)
    if target == "confirm":
        return _power.power(est["effect"], est["sd"], n, threshold=above, **kw)
    if target == "contradict":
        return _power.power(-est["effect"], est["sd"], n, threshold=-below, **kw)
    return _power.power(est["effect"], est["sd"], n, target="equivalence", delta=rule.delta, **kw)


# ---------------------------------------------------------------- costs
def read_costs(path) -> dict:
    """The costs file, validated (UsageError naming the problem and the fix)."""
    path = Path(path)
    fix = (f"fix: give --costs a JSON file {{\"cpu2\": {{\"<arch>\": {{\"<measure>\": seconds, \"factor\": x}}}}, "
           f"\"events\": {{\"<arch>\": seconds_per_study}}, \"source\": \"...\"}}")
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"costs file {str(path)!r} does not exist; {fix}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"costs file {str(path)!r} is not readable JSON ({exc}); {fix}") from None
    if not isinstance(obj, dict):
        raise UsageError(f"costs file {str(path)!r} holds a {type(obj).__name__}, not an object; {fix}")

    def positive(x, where):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
            raise UsageError(f"costs file {str(path)!r}: {where} = {x!r} is not a positive number of seconds; {fix}")

    for arch, ms in (obj.get("cpu2") or {}).items():
        if not isinstance(ms, dict):
            raise UsageError(f"costs file {str(path)!r}: cpu2.{arch} is not an object of seconds per measure; {fix}")
        for m, s in ms.items():
            positive(s, f"cpu2.{arch}.{m}")
    for arch, s in (obj.get("events") or {}).items():
        positive(s, f"events.{arch}")
    return obj


@dataclass
class Costs:
    """Process-seconds per run (cpu2: per (arch, measure); events: per study) and where they came from."""
    cpu2: dict = field(default_factory=dict)          # arch -> measure -> seconds
    events: dict = field(default_factory=dict)        # arch -> seconds per study
    notes: list = field(default_factory=list)
    source: str = ""
    measured: bool = False

    def run_seconds(self, protocol: str, arch: str, measure: str) -> tuple[float | None, str]:
        if protocol == "events":
            s = self.events.get(arch)
            return s, ("" if s is not None else f"no recorded event-study seconds for {arch}")
        per = self.cpu2.get(arch) or {}
        if measure not in per and rules.ARM_SEP in measure:   # an arm ("random@magnitude") costs its own measure's run
            measure = measure.split(rules.ARM_SEP, 1)[0]
        if measure in per:
            return per[measure], ""
        if per:
            worst = max(per.values())
            return worst, (f"no recorded seconds for {arch} {measure}: the architecture's most expensive recorded "
                           f"measure ({worst / 3600:.2f} process-h) stands in")
        return None, f"no recorded seconds for {arch} at cpu2"


def stage1_seconds(runs) -> tuple[dict, dict]:
    """Mean recorded seconds: cpu runs per (arch, measure), event studies per arch (one per study)."""
    cpu, ev, seen = defaultdict(list), defaultdict(list), set()
    for r in runs:
        s = (r.summary or {}).get("seconds")
        if not isinstance(s, (int, float)) or s <= 0:
            continue
        arch = str(r.config.get("arch"))
        if r.config.get("scale") == "events":
            key = str(r.path)
            if key not in seen:
                seen.add(key)
                ev[arch].append(float(s))
        elif r.config.get("scale") == "cpu":
            cpu[(arch, r.measure)].append(float(s))
    cpu_mean = defaultdict(dict)
    for (arch, m), xs in cpu.items():
        cpu_mean[arch][m] = _mean(xs)
    return dict(cpu_mean), {a: _mean(xs) for a, xs in ev.items()}


def build_costs(runs, costs_obj: dict | None, costs_path: str | None) -> Costs:
    cpu1, ev1 = stage1_seconds(runs)
    c = Costs()
    if costs_obj is None:
        c.cpu2 = {a: dict(ms) for a, ms in cpu1.items()}
        c.events = dict(ev1)
        c.source = ("costs not measured for stage 2: stage-1 recorded seconds (mean over seeds) × 1.0; the cpu2 "
                    "protocol's larger importance sample is not priced in")
        c.measured = False
        return c
    c.measured = True
    c.source = f"{costs_path}: {costs_obj.get('source', '(no source given)')}"
    for arch in set(cpu1) | set(costs_obj.get("cpu2") or {}):
        given = dict((costs_obj.get("cpu2") or {}).get(arch) or {})
        stage1 = cpu1.get(arch) or {}
        if "factor" in given:
            factor = float(given.pop("factor"))
            how = "the file's factor"
        else:
            common = sorted(m for m in given if m in stage1)
            ratios = sorted(given[m] / stage1[m] for m in common)
            factor = (ratios[len(ratios) // 2] if len(ratios) % 2 else
                      (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2) if ratios else 1.0
            how = (f"the median cpu2/stage-1 ratio of the {len(common)} measure(s) the file names" if ratios else
                   "1.0 (nothing to derive a factor from)")
        base = {m: s * factor for m, s in stage1.items()}
        if not given and how.startswith("1.0"):
            c.notes.append(f"cpu2 {arch}: not in the costs file; stage-1 seconds × 1.0")
            c.measured = False
        missing = sorted(set(stage1) - set(given))
        if missing:
            c.notes.append(f"cpu2 {arch}: {', '.join(missing)} not in the file: stage-1 seconds × {factor:.3g} ({how})")
        c.cpu2[arch] = {**base, **given}
    for arch in set(ev1) | set(costs_obj.get("events") or {}):
        if arch in (costs_obj.get("events") or {}):
            c.events[arch] = float(costs_obj["events"][arch])
        else:
            c.events[arch] = ev1[arch]
            c.notes.append(f"events {arch}: not in the costs file; stage-1 studies' recorded seconds")
    return c


# ---------------------------------------------------------------- used seeds
def _ints_in(obj, out: set) -> None:
    if isinstance(obj, int) and not isinstance(obj, bool):
        out.add(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _ints_in(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _ints_in(v, out)


def _seeds_in(obj, out: set) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "seed" and isinstance(v, int) and not isinstance(v, bool):
                out.add(v)
            elif k == "seeds":
                _ints_in(v, out)        # every integer under "seeds", at any depth ({"arch/scale": [..]})
            else:
                _seeds_in(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _seeds_in(v, out)


def used_seeds(runs, plan_files=()) -> set:
    """Seeds of every stored run (stage 1, planted or not) and every seed another plan names."""
    used = {r.config.get("seed") for r in runs if isinstance(r.config.get("seed"), int)}
    for p in plan_files:
        try:
            _seeds_in(json.loads(Path(p).read_text()), used)
        except (OSError, ValueError):
            continue
    return used


# ---------------------------------------------------------------- the plan
@dataclass
class PlanCell:
    claim: str
    rule: str
    arch: str
    dataset: str
    scale: str                     # the stage-2 protocol name (cpu2 | events)
    protocol: str                  # stage-1 protocol key the estimate came from ("" without one)
    measures: list
    effect: float | None
    sd: float | None
    paired: bool
    n: int | None                  # planned: the seeds it gets (len(seeds)); otherwise the n it needs (None: > N_MAX)
    seeds: list
    status: str                    # planned | not decidable | does not fit
    cost_hours: float | None       # wall-hours of the runs this rule needs at n (standalone)
    reason: str
    sd_b: float | None = None
    design: str = ""
    target: str | None = None
    alpha: float | None = None
    n_needed: int | None = None
    power: float | None = None     # at the planned n
    stage1_n: int = 0
    stage1_test: str = ""
    stage1_estimate: bool = True
    threshold: float | None = None
    delta: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _hours(seconds: float) -> float:
    return seconds / PARALLEL / 3600.0


def _group_order(key) -> tuple:
    claim, arch, dataset, protocol = key
    try:
        p = PRIORITY.index((claim, protocol))
    except ValueError:
        p = len(PRIORITY)
    claims = list(CLAIMS)
    archs = list(CLAIMS[claim].archs)
    return (p, claims.index(claim), 0 if protocol == "cpu2" else 1, archs.index(arch) if arch in archs else 99,
            dataset)


def digest_of(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def decision_route(cands: list, k: int) -> tuple[int, str, object]:
    """The n a claim cell's decision needs on one protocol (rules.CLAIM_CELL_TEXT): a contradiction or
    equivalence of the claim needs one rule (Holm over its k rules: the rule at α/k) → the smallest n
    among the rules pointing there; a confirmation needs every rule (intersection–union) → the
    largest n, and only when every rule of the claim in the cell points to it; otherwise (some rule
    not decidable) the rules' own verdicts → the largest n. Returns (n, words, the deciding cell)."""
    neg = [pc for pc in cands if pc.target in ("contradict", "equivalence")]
    if neg:
        best = min(neg, key=lambda pc: (pc.n_needed, pc.rule))
        word = "contradicted" if best.target == "contradict" else "equivalent"
        return best.n_needed, f"the claim cell can read {word} through this rule alone: n = {best.n_needed}", best
    top = max(cands, key=lambda pc: (pc.n_needed, pc.rule))
    if len(cands) == k:
        return top.n_needed, f"confirmation of the claim cell needs all {k} rule(s): n = {top.n_needed}", top
    return top.n_needed, (f"{k - len(cands)} of the claim's {k} rule(s) here are not decidable, so the claim cell "
                          f"cannot be confirmed; planned for the rules' own verdicts: n = {top.n_needed}"), top


def make_plan(runset, *, budget_hours: float = DEFAULT_BUDGET_HOURS, costs_obj: dict | None = None,
              costs_path: str | None = None, plan_files=(), confirm_only: bool = False,
              created_utc: str | None = None) -> dict:
    """The stage-2 plan (module docstring) as a JSON-ready dict, ``plan_digest`` included."""
    runs = [r for r in runset.runs if r.config.get("scale") in STAGE2]
    cells1 = stage1_cells(runs)
    costs = build_costs(runs, costs_obj, costs_path)
    used = used_seeds(runset.runs + list(getattr(runset, "planted", [])), plan_files)

    # ---- candidate cells: primary stage-1 cells at the planned scales, plus rules without one
    prim = [c for c in cells1 if c.primary and c.scale in STAGE2 and c.dataset in PLAN_DATASETS]
    n_secondary = sum(1 for c in cells1 if not c.primary)
    have = {(c.claim, c.label, c.arch, c.dataset) for c in prim}
    out: list[PlanCell] = []
    estimates: dict[int, dict] = {}
    k_rules = defaultdict(set)
    for c in prim:
        k_rules[(c.claim, c.arch, c.dataset)].add(c.label)
    for cid, claim in CLAIMS.items():
        for rule, primary in _v4_rules(claim):
            scale1 = EVIDENCE_SCALE[primary]
            for arch in claim.archs:
                for ds in claim.datasets:
                    if ds not in PLAN_DATASETS or (cid, rule.label(), arch, ds) in have:
                        continue
                    k_rules[(cid, arch, ds)].add(rule.label())
                    prim.append(Stage1Cell(cid, rule, rule.label(), arch, ds, scale1, "", True, {"values": [],
                                           "seeds": []}, None if not rule.two_sample else {"values": [], "seeds": []}))

    # ---- per cell: estimate, target, n
    for c in prim:
        protocol = STAGE2[c.scale]
        pc = PlanCell(c.claim, c.label, c.arch, c.dataset, protocol, c.protocol, run_measures(c.rule, protocol), None, None,
                      c.paired, None, [], "not decidable", None, "", threshold=None, delta=c.rule.delta,
                      stage1_n=len(c.a["values"]), stage1_test=c.test)
        k = len(k_rules[(c.claim, c.arch, c.dataset)])
        if c.not_applicable:
            pc.reason = f"not applicable at this scale (rules v4): {c.not_applicable}"
            pc.stage1_estimate = False
            out.append(pc)
            continue
        est = estimate(c)
        if est is None:
            pc.stage1_estimate = False
            pc.reason = ("no stage-1 estimate (" + (f"stage-1 n = {pc.stage1_n}" if c.protocol else
                                                    "no stage-1 cell") + ")")
            out.append(pc)
            continue
        estimates[id(pc)] = est
        pc.effect, pc.sd, pc.sd_b, pc.design = est["effect"], est["sd"], est["sd_b"], est["design"]
        pc.paired = est["design"] == "paired"
        need = needed(c.rule, est, k, confirm_only)
        pc.target, pc.alpha = need["target"], need["alpha"]
        pc.threshold = {"confirm": c.rule.thresholds()[0], "contradict": c.rule.thresholds()[1],
                        "equivalence": c.rule.delta}.get(need["target"])
        pc.n_needed = pc.n = need["n"]
        if need["target"] is None:
            pc.reason = f"not decidable on this machine: {need['why']}"
        elif need["n"] is None:
            pc.reason = (f"not decidable on this machine: needs more than N_MAX = {N_MAX} seeds for {GOAL:.0%} power "
                         f"({need['target']} at α = {need['alpha']:.4g})")
        else:
            pc.status = "candidate"
        out.append(pc)
        c_rule = c.rule
        pc._rule = c_rule      # noqa: SLF001  (kept for power_at; dropped from the output)

    # ---- cells without a stage-1 estimate (RIDE_TEXT): nothing to power from; they take, after the selection,
    # the seed list the plan gives their (architecture, protocol), never drive it
    riders = [pc for pc in out if not pc.stage1_estimate and not pc.reason.startswith("not applicable")]
    for pc in riders:
        pc.status = "rides"

    # ---- costs of each cell at its n (standalone), and of the groups
    def per_seed_seconds(arch, protocol, measures) -> tuple[float | None, list]:
        if protocol == "events":
            s, why = costs.run_seconds("events", arch, "")
            return s, [why] if why else []
        tot, whys = 0.0, []
        for m in measures:
            s, why = costs.run_seconds("cpu2", arch, m)
            if s is None:
                return None, [why]
            tot += s
            if why:
                whys.append(why)
        return tot, whys

    for pc in out:
        if pc.status != "candidate":
            n = pc.n if pc.n is not None else N_MAX
            s, _ = per_seed_seconds(pc.arch, pc.scale, pc.measures)
            if s is not None and pc.reason.startswith("not decidable on this machine: needs more"):
                pc.cost_hours = round(_hours(n * s), 2)
                pc.reason += f", ≈ more than {pc.cost_hours:g} h"
            continue
        s, whys = per_seed_seconds(pc.arch, pc.scale, pc.measures)
        if s is None:
            pc.status = "not decidable"
            pc.reason = f"not decidable on this machine: {whys[0]} (give it in --costs)"
            continue
        pc.cost_hours = round(_hours(pc.n * s), 2)
        if whys:
            pc.reason = "; ".join([pc.reason] * bool(pc.reason) + whys)

    groups = {}
    by_cell = defaultdict(list)
    for pc in out:
        if pc.status == "candidate":
            by_cell[(pc.claim, pc.arch, pc.dataset, pc.scale)].append(pc)
    for key, cands in by_cell.items():
        n_g, route, first = decision_route(cands, sum(1 for pc in out if (pc.claim, pc.arch, pc.dataset, pc.scale)
                                                      == key))
        part0 = [pc for pc in cands if pc.n_needed <= n_g]
        part1 = [pc for pc in cands if pc.n_needed > n_g]
        for pc in part0:
            pc._route = route   # noqa: SLF001
        for pc in part1:
            pc._route = (f"not needed for its claim cell's decision ({route}); planned after every claim cell's "
                         f"decision, for the rule's own verdict")
        groups[key + (0,)] = part0
        if part1:
            groups[key + (1,)] = part1

    budget_s = budget_hours * 3600.0 * PARALLEL
    n_ap: dict = {}                                     # (arch, protocol) -> n
    meas_ap: dict = defaultdict(set)                    # (arch, protocol) -> {(dataset, measure)}

    def total_seconds(n_map, meas_map) -> float:
        t = 0.0
        for (arch, protocol), n in n_map.items():
            if protocol == "events":
                datasets = {d for d, _ in meas_map[(arch, protocol)]}
                t += n * len(datasets) * costs.run_seconds("events", arch, "")[0]
            else:
                t += n * sum(costs.run_seconds("cpu2", arch, m)[0] for _, m in meas_map[(arch, protocol)])
        return t

    def seeds_needed(n_map) -> int:
        return sum(max([n for (a, p), n in n_map.items() if p == proto] or [0]) for proto in ("cpu2", "events"))

    free = [s for s in range(SEED_MIN, SEED_MAX + 1) if s not in used]

    def place_group(key):
        nonlocal n_ap, meas_ap
        cid, arch, ds, protocol, _part = key
        cells = groups[key]
        n_g = max(pc.n_needed for pc in cells)
        ap = (arch, protocol)
        trial_n = {**n_ap, ap: max(n_ap.get(ap, 0), n_g)}
        trial_m = {k: set(v) for k, v in meas_ap.items()}
        trial_m.setdefault(ap, set()).update((ds, m) for pc in cells for m in pc.measures)
        before, after = total_seconds(n_ap, meas_ap), total_seconds(trial_n, trial_m)
        added = after - before
        if after <= budget_s + 1e-9 and seeds_needed(trial_n) <= len(free):
            n_ap, meas_ap = trial_n, defaultdict(set, trial_m)
            for pc in cells:
                pc.status = "planned"
                pc._added = added   # noqa: SLF001
        else:
            why = ("the fresh seeds 3–99 run out" if seeds_needed(trial_n) > len(free) else
                   f"adds ≈ {_hours(added):.2f} h to {_hours(before):.2f} h of a {budget_hours:g} h budget")
            for pc in cells:
                pc.status = "does not fit"
                pc._orig_reason = pc.reason   # noqa: SLF001
                pc.reason = "; ".join([f"does not fit the budget: needs n = {pc.n_needed}, ≈ {pc.cost_hours:g} h "
                                       f"({'its claim cell’s decision' if _part == 0 else 'the rules of its claim cell not needed for the decision'} "
                                       f"need n = {n_g}; {why})"] + [pc.reason] * bool(pc.reason))

    # riders of a PRIORITY claim (issue 25's layer-matched arms LMRF, issue 24's quota-matched E5QF) are
    # placed in PRIORITY order, right after the groups before them, at the n those groups gave; every other
    # rider after every group (RIDE_TEXT)
    ride_groups = defaultdict(list)
    for pc in riders:
        ride_groups[(pc.claim, pc.arch, pc.dataset, pc.scale)].append(pc)
    early_rides = {k for k in ride_groups if (k[0], k[3]) in PRIORITY}

    def place_ride(key):
        nonlocal n_ap, meas_ap
        cells = ride_groups[key]
        cid, arch, ds, protocol = key
        ap = (arch, protocol)
        n = n_ap.get(ap, 0)
        if n < rules.MIN_SEEDS:
            for pc in cells:
                pc.status = "not decidable"
                pc.reason = (f"not decidable on this machine: {pc.reason} and no planned {arch} {protocol} seed list to "
                             f"take its n from")
            return
        trial_m = {k: set(v) for k, v in meas_ap.items()}
        trial_m.setdefault(ap, set()).update((ds, m) for pc in cells for m in pc.measures)
        before, after = total_seconds(n_ap, meas_ap), total_seconds(n_ap, trial_m)
        added = after - before
        s_seed = [per_seed_seconds(arch, protocol, pc.measures)[0] for pc in cells]
        for pc, sec in zip(cells, s_seed):
            pc.n_needed = pc.n = n
            pc.cost_hours = None if sec is None else round(_hours(n * sec), 2)
        if any(sec is None for sec in s_seed):
            for pc in cells:
                pc.status = "not decidable"
                pc.reason = (f"not decidable on this machine: {pc.reason}; "
                             f"{per_seed_seconds(arch, protocol, pc.measures)[1][0]} (give it in --costs)")
        elif after <= budget_s + 1e-9:
            meas_ap = defaultdict(set, trial_m)
            for pc in cells:
                pc.status = "planned"
                pc.reason = f"planned (no stage-1 estimate): {pc.reason}"
                pc._route = (f"rides on the {arch} {protocol} seed list (n = {n}) planned for the cells with an "
                             f"estimate")
                pc._added = added
        else:
            for pc in cells:
                pc.status = "does not fit"
                pc.reason = (f"does not fit the budget: needs n = {n} (the planned {arch} {protocol} seed list; "
                             f"{pc.reason}), ≈ {pc.cost_hours:g} h; its claim cell's runs add ≈ {_hours(added):.2f} h "
                             f"to {_hours(before):.2f} h of a {budget_hours:g} h budget")


    schedule = [((k[4],) + _group_order(k[:4]), 0, k) for k in groups]
    schedule += [((0,) + _group_order(k), 1, k) for k in early_rides]
    for _, kind, key in sorted(schedule, key=lambda t: (t[0], t[1])):
        if kind == 0:
            place_group(key)
        else:
            place_ride(key)

    # ---- free riders: a cell that did not fit as part of its group, but whose runs the plan already holds
    # (every measure paid on its (arch, protocol), an event study reads every measure) at n ≥ its need
    for pc in out:
        ap = (pc.arch, pc.scale)
        if (pc.status == "does not fit" and ap in n_ap and pc.n_needed <= n_ap[ap]
                and (pc.scale == "events" or all((pc.dataset, m) in meas_ap[ap] for m in pc.measures))):
            pc.status = "planned"
            pc.reason = pc.__dict__.pop("_orig_reason", "")
            pc._route = ("its claim cell's decision does not fit, but the planned runs already hold this rule's data at "
                         "n ≥ its need (no added cost)")
            pc._added = 0.0

    # ---- riders (RIDE_TEXT): per claim cell, in group order, at the n the plan gives their (arch, protocol)
    for key in sorted(ride_groups, key=_group_order):
        if key not in early_rides:
            place_ride(key)

    # ---- seeds: cpu2 block first, events next, each architecture from its protocol's block start
    n_cpu2 = max([n for (a, p), n in n_ap.items() if p == "cpu2"] or [0])
    blocks = {"cpu2": free[:n_cpu2]}
    n_ev = max([n for (a, p), n in n_ap.items() if p == "events"] or [0])
    blocks["events"] = free[n_cpu2:n_cpu2 + n_ev]
    seeds = {f"{a}/{p}": blocks[p][:n] for (a, p), n in sorted(n_ap.items())}
    for pc in out:
        rule = pc.__dict__.pop("_rule", None)
        added = pc.__dict__.pop("_added", None)
        route = pc.__dict__.pop("_route", "")
        pc.__dict__.pop("_orig_reason", None)
        if pc.status == "planned":
            pc.seeds = list(seeds[f"{pc.arch}/{pc.scale}"])
            pc.n = len(pc.seeds)
            if pc.stage1_estimate and rule is not None:
                pc.power = round(power_at(rule, estimates[id(pc)], pc.target, pc.alpha, pc.n), 4)
            s, _ = per_seed_seconds(pc.arch, pc.scale, pc.measures)
            pc.cost_hours = round(_hours(pc.n * s), 2)
            note = (f"{pc.target} at α = {pc.alpha:.4g}: needs n = {pc.n_needed}" if pc.target else
                    f"default n = {pc.n_needed}")
            note += f", gets the {pc.arch} {pc.scale} list of {pc.n} seeds"
            if route:
                note += f"; {route}"
            if added is not None:
                note += f"; its group added ≈ {_hours(added):.2f} h when included"
            pc.reason = "; ".join([note] + [pc.reason] * bool(pc.reason))
        if pc.effect is not None:
            pc.effect, pc.sd = float(pc.effect), float(pc.sd)
        if pc.status == "candidate":      # cannot happen; guard against a silent drop
            raise AssertionError(f"cell left undecided by the plan: {pc}")

    total = total_seconds(n_ap, meas_ap)
    order = {k: i for i, k in enumerate(sorted({(pc.claim, pc.arch, pc.dataset, pc.scale) for pc in out},
                                               key=_group_order))}
    out.sort(key=lambda pc: (order[(pc.claim, pc.arch, pc.dataset, pc.scale)], pc.rule))
    inputs = sorted([r.run_id for r in runs])
    values = sorted([c.claim, c.label, c.arch, c.dataset, c.scale, c.protocol, c.a["seeds"], c.a["values"],
                     (c.b or {}).get("seeds"), (c.b or {}).get("values")] for c in cells1)
    plan = {
        "plan_format": PLAN_FORMAT,
        "rules_version": rules.RULES_VERSION,
        "rules_digest": rules.rules_digest(),
        "stage1_digest_of_inputs": hashlib.sha256(json.dumps({"runs": inputs, "values": values}, sort_keys=True,
                                                             default=str).encode()).hexdigest(),
        "stage1_runs": len(inputs),
        "budget_hours": float(budget_hours),
        "wall_hours": WALL_TEXT,
        "costs_source": costs.source,
        "costs_measured": costs.measured,
        "costs_notes": costs.notes,
        "costs_seconds": {"cpu2": costs.cpu2, "events": costs.events},
        "power": GOAL,
        "n_max": N_MAX,
        "target_rule": TARGET_TEXT + ("; --confirm-only: confirmation only" if confirm_only else ""),
        "no_estimate_rule": RIDE_TEXT,
        "protocol": PROTOCOL,
        "stage2_scales": sorted({p for (_, p) in n_ap}, key=["cpu2", "events"].index),
        "seeds": seeds,
        "seed_rule": "fresh seeds 3–99 (never a stored run's or another plan's), cpu2 block first, events next; every "
                     "architecture and measure of a protocol runs the same list, so runs pair",
        "cells": [pc.as_dict() for pc in out],
        "not_planned": f"{n_secondary} stage-1 cell(s) on non-primary evidence (shown below the headline under rules "
                       f"v4, never deciding) and every CIFAR-100 cell (no data on this machine) are not planned",
        "total_cost_hours": round(_hours(total), 2),
        "created_utc": created_utc or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "code_version": _code_version(),
    }
    plan["plan_digest"] = plan_digest(plan)
    return plan


def _code_version() -> str:
    from gftheory.provenance import code_version
    return code_version()


def plan_digest(plan: dict) -> str:
    """sha256 (16 hex digits) of the plan without its own ``plan_digest``."""
    return digest_of({k: v for k, v in plan.items() if k != "plan_digest"})


STATUS_ORDER = ("planned", "does not fit", "not decidable")


def table(plan: dict) -> str:
    """The plan as a plain-text table (cell, rule, effect, sd, paired, n, cost h, status)."""
    rows = [("claim", "cell", "rule", "effect", "sd", "paired", "target", "n", "power", "cost h", "status")]
    for c in plan["cells"]:
        rows.append((c["claim"], f"{c['arch']}/{c['dataset']}/{c['scale']}", c["rule"],
                     "—" if c["effect"] is None else f"{c['effect']:.4g}",
                     "—" if c["sd"] is None else f"{c['sd']:.3g}" + (f"/{c['sd_b']:.3g}" if c.get("sd_b") else ""),
                     {"paired": "yes", "welch": "no (Welch)", "one-sample": "1-sample"}.get(c.get("design"), "—"),
                     c.get("target") or "—",
                     str(c["n"]) if c["n"] is not None else (f">{N_MAX}" if c.get("target") else "—"),
                     "—" if c.get("power") is None else f"{c['power']:.2f}",
                     "—" if c["cost_hours"] is None else f"{c['cost_hours']:g}",
                     c["status"]))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = {s: sum(c["status"] == s for c in plan["cells"]) for s in STATUS_ORDER}
    seeds = "; ".join(f"{k}: {v[0]}–{v[-1]} (n = {len(v)})" if v else f"{k}: none" for k, v in plan["seeds"].items())
    head = [f"stage-2 plan · rules v{plan['rules_version']} digest {plan['rules_digest']} · plan digest "
            f"{plan['plan_digest']}",
            f"budget {plan['budget_hours']:g} h wall ({plan['wall_hours']}); planned ≈ {plan['total_cost_hours']:g} h",
            f"costs: {plan['costs_source']}" + ("" if plan["costs_measured"] else "  [COSTS NOT MEASURED FOR STAGE 2]"),
            f"seeds: {seeds or 'none'}",
            ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER) + f" of {len(plan['cells'])} rule × cell(s)", ""]
    reasons = ["", "reasons:"] + [f"  {c['claim']} {c['arch']}/{c['dataset']}/{c['scale']} {c['rule']}: {c['reason']}"
                                  for c in plan["cells"] if c["status"] != "planned"]
    return "\n".join(head + lines + reasons + ["", plan["not_planned"]])


__all__ = ["make_plan", "plan_digest", "table", "read_costs", "stage1_cells", "estimate", "needed", "PRIORITY",
           "STAGE2", "PROTOCOL", "PARALLEL", "SEED_MIN", "SEED_MAX", "N_MAX", "DEFAULT_BUDGET_HOURS", "COSTS_FILE"]
