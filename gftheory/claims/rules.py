"""Decision rules, fixed before any data. Every constant here, and every claim's rules
(``registry``), enter ``rules_digest()``, which the report and ``gftheory claims`` print: a
change of rule after data is visible as a new digest (and fails ``test_rules_digest_is_frozen``
until ``FROZEN_DIGEST`` is updated on purpose).

A **rule** compares per-seed values of one metric. Kinds (new kinds subclass ``Rule`` and
implement ``statistic``; e.g. a paired difference with seeds as the unit):

* ``Comparison``  — A ``direction`` than B by more than the metric's minimum meaningful
  difference δ (superiority);
* ``NonInferior`` — A not worse than B by δ or more;
* ``OneSample``   — the metric of A ``direction`` than 0 by more than δ.

**Cell** = (architecture, dataset, protocol, scale). With n ≥ MIN_SEEDS seeds per measure, D is
the difference in the claimed direction (D > 0 = as claimed), its Welch (or one-sample) t
statistic gives two one-sided p-values: p_confirm (H0: D ≤ confirm threshold) and p_contra
(H0: D ≥ contradict threshold). Holm's step-down correction runs over **every** one-sided test
of a claim at one scale (all its rules × cells × 2), family-wise error ALPHA = 0.05; a cell is
confirmed / contradicted when its Holm-adjusted p < ALPHA, else inconclusive. With one test pair
this is exactly "the 95 % Welch interval lies beyond ±δ". Zero spread in both groups → the cell is
*degenerate* and refused; fewer than MIN_SEEDS seeds in a group → *insufficient*.

**Rule verdict** (per scale) over the decided cells: confirmed if ≥ CONFIRM_FRACTION of them are
confirmed and none contradicted; contradicted if ≥ CONTRADICT_FRACTION are contradicted and none
confirmed; mixed if both occur; else inconclusive. Every verdict states its coverage: decided
cells of the cells the claim is about (architectures × datasets).

**Claim verdict** (per scale) combines its rules as its formal statement says (``COMBINATIONS``).
The headline is the verdict at the highest evidence scale with a decided cell (SCALE_ORDER);
every scale's verdict is reported; scales that disagree in sign make the headline "conflicting
across scales". NON_EVIDENCE_SCALES (plumbing checks) are shown but never positive.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

RULES_VERSION = "3"   # 3: event-study evidence (paired cells, recovery, T1/T2 at scale)
MIN_SEEDS = 3
ALPHA = 0.05                      # family-wise error per claim and scale (Holm)
LEVEL = 0.95                      # level of the intervals shown (unadjusted)
POWER = 0.80                      # minimum detectable effect shown per cell: 80 % power at level α/m
DEGENERATE_SE = 1e-12             # se ≤ this × max(1, |values|) counts as zero spread
PAIRED = ("a cell whose runs are all marked paired (the event study: every measure on the same checkpoints, "
          "importance sample and probe) with the same seeds on both sides uses the one-sample t of the per-seed "
          "differences instead of Welch's two-sample t")
CONFIRM_FRACTION = 2 / 3
CONTRADICT_FRACTION = 1 / 2
SCALE_ORDER = ("full", "short", "cpu", "events", "smoke")   # unknown scales sort after these, by name
NON_EVIDENCE_SCALES = ("smoke",)

# T1/T2 at scale (event study): the first-order picture holds at an event size when the Spearman ρ
# of predicted and actual changes is ≥ RANK_CORR_MIN and their median relative error ≤ REL_ERROR_MAX.
AGREEMENT_EVENTS = ("small", "round1", "round5")
RANK_CORR_MIN = 0.8
REL_ERROR_MAX = 0.5
AGREEMENT_QUANTITY = {"t1": ("loss", "dloss_weights"), "t2": ("grad_norm_sq", "dgrad_norm_sq_weights")}
_QUANTITY_NOUN = {"t1": "ΔL (T1)", "t2": "Δ‖g‖² (T2)"}
_EVENT_NOUN = {"small": "1 % events", "round1": "first-round events (≈ 10.7 % of the units)",
               "round5": "fifth-round events"}

# Minimum meaningful difference δ per metric, in the metric's units, fixed before data.
MIN_EFFECT = {
    "final_acc": 0.25,                    # accuracy points (%)
    "train_loss_speed": 0.02,             # fraction of the run's own loss drop still to go, mean over epochs
    "eval_acc_speed": 0.02,               # fraction of the run's own accuracy rise still to go
    "event_rel_abs_dloss": 0.005,         # |ΔL| / L before, mean over events
    "event_rel_dloss": 0.005,             # ΔL / L before (signed)
    "event_rel_abs_dtheta_g": 0.002,      # |Δ(θᵀg)| / (‖θ‖‖g‖) before
    "event_rel_dgrad_norm_sq": 0.01,      # Δ‖g‖² / ‖g‖² before (signed)
    "event_rel_abs_dgrad_norm_sq": 0.01,  # |Δ‖g‖²| / ‖g‖² before
    "event_rel_abs_daccel": 0.01,         # |Δ(‖g‖² + θᵀHg)| / (‖g‖² + |θᵀHg|) before  (F4: d²‖θ‖²/dt² / 2)
    "early_width_fraction": 0.02,         # fraction of units
    "recovery_gap": 0.005,                # (L_pruned − L_dense) / L_dense after the recovery steps
    **{f"{q}_{stat}_margin_{e}": 0.05     # ρ − 0.8 and 0.5 − median relative error (event study)
       for q in ("t1", "t2") for stat in ("rank_corr", "rel_error") for e in ("small", "round1", "round5")},
}

# What each metric is, in words, for the one-sentence explanation of a rule.
METRIC_NOUN = {
    "final_acc": "final accuracy",
    "train_loss_speed": "the share of its own train-loss drop a run still has to make (mean over final-training "
                        "epochs; lower = converges faster)",
    "eval_acc_speed": "the share of its own test-accuracy rise a run still has to make (mean over final-training "
                      "epochs; lower = converges faster)",
    "event_rel_abs_dloss": "the relative loss change |ΔL|/L at the pruning events",
    "event_rel_dloss": "the relative loss increase ΔL/L at the pruning events",
    "event_rel_abs_dtheta_g": "the change of the norm rate |Δθᵀg|/(‖θ‖‖g‖) at the pruning events",
    "event_rel_dgrad_norm_sq": "the relative gradient-norm increase Δ‖g‖²/‖g‖² at the pruning events",
    "event_rel_abs_dgrad_norm_sq": "the relative gradient-norm change |Δ‖g‖²|/‖g‖² at the pruning events",
    "event_rel_abs_daccel": "the relative change of the second-order norm dynamics ‖g‖² + θᵀHg (F4) at the "
                            "pruning events",
    "early_width_fraction": "the fraction of units it leaves in the first third of the layers",
    "recovery_gap": "the loss gap to the unpruned network after the recovery steps that follow one pruning event "
                    "(event study)",
    **{f"{q}_rank_corr_margin_{e}": f"the Spearman rank correlation of predicted and actual {_QUANTITY_NOUN[q]} "
                                    f"over every measure's {_EVENT_NOUN[e]}, minus {RANK_CORR_MIN}"
       for q in AGREEMENT_QUANTITY for e in AGREEMENT_EVENTS},
    **{f"{q}_rel_error_margin_{e}": f"{REL_ERROR_MAX} minus the median relative error |predicted − actual|/|actual| "
                                    f"of {_QUANTITY_NOUN[q]} over every measure's {_EVENT_NOUN[e]}"
       for q in AGREEMENT_QUANTITY for e in AGREEMENT_EVENTS},
}
METRIC_UNIT = {"final_acc": " points"}


def _word(direction: str) -> str:
    return "higher" if direction == "higher" else "lower"


class Rule:
    """Base of the rule kinds. ``statistic`` (in ``verdicts``) needs ``two_sample`` and the two
    thresholds on D (claimed-direction difference): confirm if D > confirm_at, contradict if
    D < contradict_at, each by a one-sided test."""
    kind = "rule"
    two_sample = True

    def measures(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def delta(self) -> float:
        return MIN_EFFECT[self.metric]

    def thresholds(self) -> tuple[float, float]:
        return self.delta, -self.delta

    def statistic(self, va, vb=None):
        """The t statistic of D (before the direction sign) from per-seed values, sorted by seed.
        Default: Welch for two samples, one-sample t otherwise; a paired kind (seeds as the unit)
        overrides this with the one-sample t of the per-seed differences."""
        from gftheory.claims.stats import one_sample_stat, welch_stat
        return welch_stat(va, vb) if self.two_sample else one_sample_stat(va)

    def manifest(self) -> dict:
        return {"kind": self.kind, **asdict(self), "delta": self.delta, "thresholds": list(self.thresholds())}

    def text(self) -> str:
        return self.sentence()


@dataclass(frozen=True)
class Comparison(Rule):
    """Claim: measure ``a`` has a ``direction`` ("higher"/"lower") value of ``metric`` than ``b``."""
    a: str
    b: str
    metric: str
    direction: str = "higher"
    note: str = ""
    kind = "superiority"

    def measures(self) -> tuple[str, ...]:
        return (self.a, self.b)

    def sentence(self) -> str:
        unit = METRIC_UNIT.get(self.metric, "")
        return (f"{METRIC_NOUN[self.metric][0].upper() + METRIC_NOUN[self.metric][1:]} is {_word(self.direction)} "
                f"with {self.a} than with {self.b}, by more than {self.delta:g}{unit}.")

    def label(self) -> str:
        op = ">" if self.direction == "higher" else "<"
        return f"{self.metric}: {self.a} {op} {self.b}"


@dataclass(frozen=True)
class NonInferior(Rule):
    """Claim: ``a`` is not worse than ``b`` on ``metric`` by δ or more (``direction`` = better)."""
    a: str
    b: str
    metric: str
    direction: str = "lower"
    note: str = ""
    kind = "non-inferiority"

    def measures(self) -> tuple[str, ...]:
        return (self.a, self.b)

    def thresholds(self) -> tuple[float, float]:
        return -self.delta, -self.delta

    def sentence(self) -> str:
        worse = "higher" if self.direction == "lower" else "lower"
        unit = METRIC_UNIT.get(self.metric, "")
        return (f"{METRIC_NOUN[self.metric][0].upper() + METRIC_NOUN[self.metric][1:]} is not {worse} with "
                f"{self.a} than with {self.b} by {self.delta:g}{unit} or more.")

    def label(self) -> str:
        op = "≤" if self.direction == "lower" else "≥"
        return f"{self.metric}: {self.a} {op} {self.b} + δ"


@dataclass(frozen=True)
class OneSample(Rule):
    """Claim: ``metric`` of measure ``a`` is ``direction`` than 0 (e.g. GraSP raises ‖g‖²)."""
    a: str
    metric: str
    direction: str = "higher"
    note: str = ""
    kind = "one-sample"
    two_sample = False

    def measures(self) -> tuple[str, ...]:
        return (self.a,)

    def sentence(self) -> str:
        noun = METRIC_NOUN[self.metric]
        sign = "above" if self.direction == "higher" else "below"
        return f"With {self.a}, {noun} is {sign} 0 by more than {self.delta:g}."

    def label(self) -> str:
        op = ">" if self.direction == "higher" else "<"
        return f"{self.metric}({self.a}) {op} 0"


RULE_KINDS = {cls.kind: cls for cls in (Comparison, NonInferior, OneSample)}

COMBINATIONS = {
    "all": "the claim is confirmed only if every one of its rules is confirmed; contradicted if any rule is "
           "contradicted; otherwise its rules' verdicts are listed and it is mixed, inconclusive or incomplete",
}

CELL_RULE_TEXT = (f"Each cell (architecture × dataset × protocol × scale) with ≥ {MIN_SEEDS} seeds per measure gives "
                  f"D, the difference in the claimed direction, and two one-sided Welch t tests against the rule's "
                  f"minimum meaningful difference δ; Holm's correction over every test of the claim at that scale keeps "
                  f"the family-wise error ≤ {ALPHA:g}. Zero spread in both groups → degenerate (refused); fewer seeds → "
                  f"insufficient.")
RULE_VERDICT_TEXT = (f"A rule is confirmed at a scale when ≥ 2/3 of its decided cells are confirmed and none contradicted, "
                     f"contradicted when ≥ 1/2 are contradicted and none confirmed, mixed when both occur, else "
                     f"inconclusive; its coverage (decided cells / cells the claim is about) is always stated.")
SCALE_RULE_TEXT = (f"Every scale gets its own verdict; the headline is the highest scale with a decided cell "
                   f"({' > '.join(SCALE_ORDER)}); scales disagreeing in sign make it 'conflicting across scales'; "
                   f"{', '.join(NON_EVIDENCE_SCALES)} runs are plumbing checks and never count as positive.")

IDENTITY_RULE_TEXT = ("identity/approximation: refuted if any numeric check of its statements fails; 'proved and "
                      "checked' if every statement is proved symbolically and every check passes; 'identity-tested "
                      "and checked' when some proof step was only evaluated at random points (not a symbolic proof); "
                      "'checked (no proof)' / 'proved (not checked)' when one kind of evidence is absent; 'disputed' "
                      "if a proof certifies a step false while checks pass; 'proof failed' if a step stays undecided")

COMPOSITE_RULE_TEXT = ("composite: contradicted if any part is refuted or contradicted; confirmed only if every "
                       "empirical part is confirmed and every theory part holds; 'theory holds, runs missing' when the "
                       "theory holds and no empirical part has evidence (a calculus identity true for every measure is "
                       "never the positive part); partly confirmed if some but not all empirical parts are confirmed")

FROZEN_DIGEST = "8b5f45d4ac90f52b"    # rules_digest() as frozen for version 3, before any evidence is judged


def rules_manifest() -> dict:
    """Every constant and every claim's rules, as plain data (what the digest covers)."""
    from gftheory.claims.registry import CLAIMS
    return {"version": RULES_VERSION, "min_seeds": MIN_SEEDS, "alpha": ALPHA, "degenerate_se": DEGENERATE_SE, "level": LEVEL, "power": POWER,
            "confirm_fraction": CONFIRM_FRACTION, "contradict_fraction": CONTRADICT_FRACTION,
            "scale_order": list(SCALE_ORDER), "non_evidence_scales": list(NON_EVIDENCE_SCALES),
            "min_effect": MIN_EFFECT, "combinations": COMBINATIONS, "paired": PAIRED,
            "agreement": {"events": list(AGREEMENT_EVENTS), "rank_corr_min": RANK_CORR_MIN,
                          "rel_error_max": REL_ERROR_MAX, "quantities": AGREEMENT_QUANTITY},
            "texts": [CELL_RULE_TEXT, RULE_VERDICT_TEXT, SCALE_RULE_TEXT, IDENTITY_RULE_TEXT, COMPOSITE_RULE_TEXT],
            "claims": {cid: {"statements": list(c.statements), "components": list(c.components),
                             "combine": c.combine, "archs": list(c.archs), "datasets": list(c.datasets),
                             "rules": [r.manifest() for r in c.comparisons]} for cid, c in CLAIMS.items()}}


def rules_digest() -> str:
    """sha256 (first 16 hex digits) of ``rules_manifest()``."""
    blob = json.dumps(rules_manifest(), sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def scale_rank(scale: str) -> tuple:
    """Sort key: SCALE_ORDER first (full highest), unknown scales after, by name."""
    return (SCALE_ORDER.index(scale), "") if scale in SCALE_ORDER else (len(SCALE_ORDER), str(scale))
