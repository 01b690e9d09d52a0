"""Decision rules, fixed before any data. Version 4 (the section "rules version 4" at the end;
engine ``gftheory.claims.decide``) judges stage 2 and describes stage 1; version 3 (below, kept
verbatim with its digest FROZEN_DIGEST_V3) is how stage 1 was judged and is still shown.
What follows describes version 3. Every constant here, and every claim's rules
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
import math
import json
from dataclasses import asdict, dataclass

RULES_VERSION = "4"   # 4: per-decision error control, pairing proven from data, equivalence, two stages
RULES_VERSION_V3 = "3"   # 3: event-study evidence (paired cells, recovery, T1/T2 at scale); stage 1 is shown under it
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
        return MIN_EFFECT[self.metric] if self.metric in MIN_EFFECT else MIN_EFFECT_V4[self.metric]

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

FROZEN_DIGEST_V3 = "8b5f45d4ac90f52b"    # rules_manifest_v3() digest: version 3, stage 1 was judged under it


def rules_manifest_v3() -> dict:
    """Rules version 3 as it was frozen (digest FROZEN_DIGEST_V3): every v3 constant and every
    claim's v3 rules (the claims registered under version 3: ``Claim.registered == "3"``; the
    stage-2 claims added under version 4 are not part of it). Stage 1 (exploratory) is judged and
    shown under it, unchanged."""
    from gftheory.claims.registry import CLAIMS as _ALL
    CLAIMS = {cid: c for cid, c in _ALL.items() if c.judged_at_stage1}
    return {"version": RULES_VERSION_V3, "min_seeds": MIN_SEEDS, "alpha": ALPHA, "degenerate_se": DEGENERATE_SE, "level": LEVEL, "power": POWER,
            "confirm_fraction": CONFIRM_FRACTION, "contradict_fraction": CONTRADICT_FRACTION,
            "scale_order": list(SCALE_ORDER), "non_evidence_scales": list(NON_EVIDENCE_SCALES),
            "min_effect": MIN_EFFECT, "combinations": COMBINATIONS, "paired": PAIRED,
            "agreement": {"events": list(AGREEMENT_EVENTS), "rank_corr_min": RANK_CORR_MIN,
                          "rel_error_max": REL_ERROR_MAX, "quantities": AGREEMENT_QUANTITY},
            "texts": [CELL_RULE_TEXT, RULE_VERDICT_TEXT, SCALE_RULE_TEXT, IDENTITY_RULE_TEXT, COMPOSITE_RULE_TEXT],
            "claims": {cid: {"statements": list(c.statements), "components": list(c.components),
                             "combine": c.combine, "archs": list(c.archs), "datasets": list(c.datasets),
                             "rules": [r.manifest() for r in c.comparisons]} for cid, c in CLAIMS.items()}}


def _digest(manifest: dict) -> str:
    blob = json.dumps(manifest, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def rules_digest_v3() -> str:
    """sha256 (first 16 hex digits) of ``rules_manifest_v3()``."""
    return _digest(rules_manifest_v3())


def rules_digest() -> str:
    """sha256 (first 16 hex digits) of ``rules_manifest()`` (the current version, 4)."""
    return _digest(rules_manifest())


def scale_rank(scale: str) -> tuple:
    """Sort key: SCALE_ORDER first (full highest), unknown scales after, by name."""
    return (SCALE_ORDER.index(scale), "") if scale in SCALE_ORDER else (len(SCALE_ORDER), str(scale))


# ==================================================================== rules version 4
# Stage 1 (exploratory: the stored runs, seeds 0-2, and everything no plan names) is judged under
# version 3 above, unchanged (rules_manifest_v3, FROZEN_DIGEST_V3), and described under version 4.
# Stage 2 (confirmatory: only the runs a committed plan names) is judged under version 4 alone.
# Version 4 reuses the rule kinds (Comparison, NonInferior, OneSample), MIN_SEEDS, ALPHA, POWER,
# DEGENERATE_SE and the agreement constants of version 3; what follows is what it adds or replaces.

DECIDING_LEVEL = 1 - 2 * ALPHA       # 0.90 two-sided interval = the two one-sided (1 − α) bounds that decide

# δ of the metrics new in version 4 (log ratios; MIN_EFFECT keeps the v3 metrics and their δ).
# log(1 + r) ≈ r for a small relative change r, so δ = log(1 + old relative δ) keeps each old δ's meaning.
MIN_EFFECT_V4 = {
    "event_log_grad_norm_ratio": math.log(1.01),       # log(‖g‖²_after / ‖g‖²_before), mean over events (signed)
    "event_abs_log_grad_norm_ratio": math.log(1.01),   # |log(‖g‖²_after / ‖g‖²_before)|
    "event_log_loss_ratio": math.log(1.005),           # log(L_after / L_before) (signed)
    "event_abs_log_loss_ratio": math.log(1.005),       # |log(L_after / L_before)|
    "event_log1p_rel_abs_daccel": math.log(1.01),      # log(1 + |Δ(‖g‖² + θᵀHg)| / (‖g‖² + |θᵀHg|))
}

# v3 metric → its v4 replacement (heavy-tailed ratios → logs; stage-1 data, docs/protocol.md "Rules version 4")
METRIC_V4 = {
    "event_rel_dgrad_norm_sq": "event_log_grad_norm_ratio",
    "event_rel_abs_dgrad_norm_sq": "event_abs_log_grad_norm_ratio",
    "event_rel_dloss": "event_log_loss_ratio",
    "event_rel_abs_dloss": "event_abs_log_loss_ratio",
    "event_rel_abs_daccel": "event_log1p_rel_abs_daccel",
}
METRIC_NOUN.update({
    "event_log_grad_norm_ratio": "the log gradient-norm ratio log(‖g‖²_after/‖g‖²_before) at the pruning events",
    "event_abs_log_grad_norm_ratio": "the absolute log gradient-norm ratio |log(‖g‖²_after/‖g‖²_before)| at the "
                                     "pruning events",
    "event_log_loss_ratio": "the log loss ratio log(L_after/L_before) at the pruning events",
    "event_abs_log_loss_ratio": "the absolute log loss ratio |log(L_after/L_before)| at the pruning events",
    "event_log1p_rel_abs_daccel": "log(1 + relative change of the second-order norm dynamics ‖g‖² + θᵀHg (F4)) "
                                  "at the pruning events",
})

# ---- stage-2 rules (issues 24, 25): registered before their first data, with no stage-1 data of their own.
# Every δ below is a priori: the agreement margins keep the v3 margins' δ (0.05 of ρ or of relative error);
# the event and accuracy rules reuse the metrics (and δ) already registered. Nothing was tuned to data.
UNIT_EVENT = "units"                 # edition 2: the per-checkpoint record of single-unit removals (measure "none")
UNIT_SETS = ("weights", "channel")   # the filter alone (the paper's θ_p) / filter + BatchNorm γ, β (physical removal)
UNIT_QUANTITY = {"t1": ("dloss", "pred_dloss"), "t2": ("dgrad_norm_sq", "pred_dgrad_norm_sq")}   # actual, predicted
SECOND_ORDER_EVENT = "round1"        # the event at which first order fails in stage 1 (issue 24)
SECOND_ORDER_PRED = "dloss_weights_second_order"     # −θ_Sᵀg + ½θ_SᵀHθ_S
ARM_SEP = "@"                        # "grasp@magnitude": grasp ranked within layers at magnitude's per-layer counts
_UNIT_NOUN = {"weights": "the filter alone (the paper's θ_p)", "channel": "filter + BatchNorm γ, β (physical)"}
MIN_EFFECT_V4.update({
    **{f"{q}_unit_{stat}_margin_{u}": 0.05      # as the v3 agreement margins (ρ − 0.8, 0.5 − median rel. error)
       for q in UNIT_QUANTITY for stat in ("rank_corr", "rel_error") for u in UNIT_SETS},
    "t1_so_rank_corr_margin_round1": 0.05,     # as the v3 agreement margins
    "t1_so_rel_error_margin_round1": 0.05,     # as the v3 agreement margins
    "so_rank_corr_gain_round1": 0.05,          # a ρ difference of 0.05: the margins' own unit of a meaningful ρ change
})
METRIC_NOUN.update({
    **{f"{q}_unit_rank_corr_margin_{u}": f"the Spearman rank correlation of predicted and actual {_QUANTITY_NOUN[q]} "
                                         f"over single-unit removals of {_UNIT_NOUN[u]} (per checkpoint, mean over "
                                         f"checkpoints), minus {RANK_CORR_MIN}"
       for q in UNIT_QUANTITY for u in UNIT_SETS},
    **{f"{q}_unit_rel_error_margin_{u}": f"{REL_ERROR_MAX} minus the median relative error |predicted − actual|/|actual| "
                                         f"of {_QUANTITY_NOUN[q]} over single-unit removals of {_UNIT_NOUN[u]} (per "
                                         f"checkpoint, mean over checkpoints)"
       for q in UNIT_QUANTITY for u in UNIT_SETS},
    "t1_so_rank_corr_margin_round1": "the Spearman rank correlation of the second-order prediction −θ_Sᵀg + ½θ_SᵀHθ_S "
                                     f"and the actual ΔL over every measure's {_EVENT_NOUN['round1']}, minus "
                                     f"{RANK_CORR_MIN}",
    "t1_so_rel_error_margin_round1": f"{REL_ERROR_MAX} minus the median relative error of the second-order prediction "
                                     f"−θ_Sᵀg + ½θ_SᵀHθ_S of ΔL over every measure's {_EVENT_NOUN['round1']}",
    "so_rank_corr_gain_round1": "the Spearman ρ of the second-order ΔL prediction minus that of the first-order one "
                                f"(−θ_Sᵀg), against the actual ΔL over the same {_EVENT_NOUN['round1']}",
})
ARM_TEXT = (
    f"Stage-2 arms as measures: an event study of edition 2 gives, besides one run per measure, one per quota arm "
    f"('<measure>{ARM_SEP}<reference>': the measure ranks units only within each layer, every layer's removal count "
    f"fixed to the reference measure's at the same event; its round1_quota events) and one per layer-matched random "
    f"arm ('random{ARM_SEP}<measure>': random units within each layer at the measure's per-layer counts; every draw "
    f"of its round1_layer_random events is one event, so its value is the mean over the draws, and the recovery gap "
    f"is read on the draws that ran the recovery). A prune-while-training run with quota_from = <reference> is the "
    f"measure '<measure>{ARM_SEP}<reference>' ('random{ARM_SEP}magnitude' is magnitude's layer-matched random arm) and "
    f"has its source's protocol key: same seed, same initialisation and data order, so a cell pairs them by "
    f"fingerprint. Per-unit agreement is computed per checkpoint over its single-unit removals (Spearman ρ; median "
    f"relative error over the units with a non-zero actual change; at least 3 units) and averaged over the study's "
    f"checkpoints: one value per study (seed), decided by the one-sample rule.")

# Primary evidence: metrics only a prune-while-training run has are decided on runs; every other metric of a
# claim that names event studies is decided on the event study (paired by construction, the designed test).
RUN_ONLY_METRICS = ("final_acc", "train_loss_speed", "eval_acc_speed")
RUN_SCALES = ("full", "short", "cpu")     # the primary scale of a runs rule: the highest of these with a decided cell
ACCELERATOR_SCALES = ("full", "short")   # not runnable on this project's CPU machine in useful time

# Equivalence (TOST) is a verdict of its own for rule kinds whose "no meaningful difference" is an answer:
EQUIVALENCE_KINDS = ("superiority", "one-sample")
NO_EQUIVALENCE_METRIC_PREFIXES = ("t1_", "t2_")   # agreement margins: ρ ≈ 0.8 is not an answer, only a threshold

# Not applicable: convergence-speed metrics need a final-training phase long enough to have a shape of its own.
SPEED_METRICS = ("train_loss_speed", "eval_acc_speed")
SPEED_MIN_RECORDS = 5              # final-training epoch records
SPEED_MIN_RECORDS_PER_LR = 2       # records per distinct learning rate (else the curve is the schedule)

STAGE_TEXT = (
    "Stage 1 (exploratory) = the stored runs no committed plan names (on main: seeds 0–2): judged and shown under "
    "rules version 3 exactly as before, and described under version 4 (a description, not a confirmation: its "
    "seeds were chosen before the rules and may be extended after seeing it). Stage 2 (confirmatory) = only the runs "
    "whose (architecture, dataset, scale, protocol, measure, seed) a plan committed before them names "
    "(results/plans/stage2.json): a plan cell with fewer stored seeds than planned reads 'incomplete (k of n)' and "
    "is not judged; seeds beyond the plan are ignored and flagged; a plan made under another rules digest is "
    "reported as such and its cells are not judged.")
PAIRING_TEXT = (
    "Pairing is proven from data. Two runs of one cell and seed pair when their fingerprints match: the recorded "
    "summary 'fingerprint' (init, data_order, and probe where both have one); a stage-1 run without one uses "
    "(first epoch record's exact train_loss, first prune event's before.loss) — the first record's train loss is "
    "taken after round 1's steps, which precede the first pruning, so it is equal across measures of one seed; a "
    "dense run (no prune event) pairs on that train loss alone. A recorded fingerprint never matches a fallback one. "
    "Event-study measures are paired by construction (same checkpoints, importance sample and probe). A cell uses "
    f"the paired t of the per-seed differences over the seeds whose fingerprints match when they are ≥ {MIN_SEEDS} "
    "(seeds without a matching partner are left out and named), otherwise Welch's t over all seeds; the table says "
    "which.")
DECISION_TEXT = (
    f"Per rule and cell (one test, never corrected for other rules, cells or claims, so adding a claim or a cell "
    f"changes nothing here): D is the difference in the claimed direction; confirmed when the one-sided "
    f"{1 - ALPHA:.0%} lower bound of D exceeds the confirm threshold (superiority / one-sample: +δ; "
    f"non-inferiority: −δ), i.e. one-sided p < α = {ALPHA:g}; contradicted when the one-sided {1 - ALPHA:.0%} upper "
    f"bound lies below −δ; equivalent (kinds {', '.join(EQUIVALENCE_KINDS)}, not the agreement margins) when both "
    f"one-sided tests against ±δ reject at α (TOST: the {DECIDING_LEVEL:.0%} interval inside ±δ); else "
    f"inconclusive. Zero spread → degenerate; fewer than {MIN_SEEDS} seeds → insufficient.")
CLAIM_CELL_TEXT = (
    "A claim in a cell (architecture × dataset, each rule on its primary evidence): confirmed when every rule is "
    f"confirmed there, each at α = {ALPHA:g} (intersection–union test: no correction needed); contradicted when "
    "Holm's correction over that claim's rules in that cell only (their contradiction p-values) rejects at α; "
    "equivalent when Holm over the same rules' TOST p-values rejects at α (and none is contradicted); otherwise "
    "inconclusive, with the number of rules confirmed stated.")
INTERVAL_TEXT = (
    f"Intervals are shown at the level that decides: the {DECIDING_LEVEL:.0%} two-sided t interval, whose ends are "
    f"the one-sided {1 - ALPHA:.0%} bounds of the confirm and contradict tests and which TOST compares with ±δ. "
    f"MDE = δ + λ·se, λ the noncentrality at which the one-sided level-α t test at this cell's df has "
    f"{POWER:.0%} power (exact noncentral t, scipy.stats.nct): the smallest true D this cell's design detects.")
PRIMARY_TEXT = (
    f"Every rule names its primary evidence: {', '.join(RUN_ONLY_METRICS)} are decided on prune-while-training runs "
    f"at the highest run scale with a decided cell ({' > '.join(RUN_SCALES)}); every other metric of a claim that "
    "names event studies on the paired event study. The claim's headline comes from the primary evidence; the "
    "other evidence is shown below it and never decides.")
NOT_APPLICABLE_TEXT = (
    f"A convergence-speed metric ({', '.join(SPEED_METRICS)}) is not applicable at a scale whose final-training "
    f"phase has fewer than {SPEED_MIN_RECORDS} epoch records or fewer than {SPEED_MIN_RECORDS_PER_LR} records per "
    "learning rate: there the remaining share mostly measures the learning-rate schedule (cpu scale: 3 records at "
    "3 learning rates, (1 + r)/3), not the pruned model. Such a cell reads 'not applicable at this scale' with the "
    "reason and is not judged.")
HEADLINE_TEXT = (
    "A claim's headline over its cells is a count of per-cell statements, each at α (not a family-wise statement "
    "about all cells): 'confirmed in k of N cells' when some cell is confirmed and none contradicted or equivalent; "
    "'contradicted in k of N cells' / 'equivalent in k of N cells' likewise; 'mixed' when confirmed cells and "
    "contradicted or equivalent cells both occur; else the words below. N = the cells the claim is about.")

# Every verdict word the report can print, defined here (the digest covers them).
WORDS = {
    "confirmed": "every rule confirmed at α in the cell (intersection–union); in a headline: confirmed in k of N "
                 "cells and no cell contradicted or equivalent",
    "contradicted": "a rule's effect lies beyond −δ (opposite to the claim); for a claim in a cell, Holm over its "
                    "rules there",
    "equivalent": "the effect lies within ±δ by two one-sided tests at α (TOST): no meaningful difference",
    "mixed": "confirmed cells and contradicted or equivalent cells both occur",
    "inconclusive": "tested, but no statement reaches α",
    "insufficient": f"fewer than {MIN_SEEDS} seeds in a group: not tested",
    "degenerate": "zero spread in every group: not tested",
    "not applicable at this scale": "the metric cannot measure what the rule says at this scale (reason given)",
    "incomplete": "stage 2: fewer seeds stored than the plan names (k of n): not judged",
    "plan made under another rules digest": "stage 2: the committed plan names another digest: not judged",
    "not yet run": "no stored run or study holds the rule's measures",
    "not in the plan": "stage 2: the plan names no cell for this rule there (the claim cell cannot be confirmed)",
    "not decidable on this machine": "stage 2: the plan lists the cell with the seeds it would need and their "
                                     "cost; not run, not judged",
    "partly confirmed": "composite: some but not all empirical parts confirmed, none contradicted",
    "theory holds": "composite without empirical parts: every theory part holds",
    "theory holds, runs missing": "composite: the theory part holds and no empirical part has evidence",
    "theory not established": "composite: a theory part does not hold (proof failed, disputed or missing)",
    "evidence confirmed, theory not established": "composite: every empirical part confirmed, a theory part not",
    "evidence missing": "composite: no empirical part has evidence",
    "open": "(rules version 3 only, in the stage-1 exploratory table as main printed it) a composite whose parts "
            "were neither all confirmed nor any contradicted; version 4 says partly confirmed, inconclusive or "
            "evidence missing instead",
}
COMPOSITE_RULE_TEXT_V4 = (
    "composite (v4): contradicted if any part is refuted or contradicted; confirmed only if every empirical part is "
    "confirmed and every theory part holds; 'evidence confirmed, theory not established' if the theory does not "
    "hold; 'partly confirmed' if some empirical parts are; 'theory holds, runs missing' / 'evidence missing' when no "
    "empirical part has evidence; otherwise the empirical parts' own word (inconclusive, equivalent, not applicable "
    "at this scale, incomplete). A calculus identity true for every measure is never the positive part.")

FROZEN_DIGEST = "100ad9192b8f8868"    # rules_digest() as frozen for version 4 with the stage-2 rules of issues 24, 25 (previously 187e9689aa609ddd), before any stage-2 run


def rule_v4_manifest(rule, primary: str) -> dict:
    return {**rule.manifest(), "primary": primary, "equivalence": equivalence_allowed(rule)}


def equivalence_allowed(rule) -> bool:
    """Whether the rule can read 'equivalent' (EQUIVALENCE_KINDS, not an agreement margin)."""
    return rule.kind in EQUIVALENCE_KINDS and not rule.metric.startswith(NO_EQUIVALENCE_METRIC_PREFIXES)


def rules_manifest() -> dict:
    """Rules version 4: every constant, text and word, and every claim's v4 rules with their primary
    evidence (what ``rules_digest()`` covers); v3's manifest is embedded by its digest."""
    from gftheory.claims.registry import CLAIMS, v4_rules
    return {"version": RULES_VERSION, "v3_digest": FROZEN_DIGEST_V3, "min_seeds": MIN_SEEDS, "alpha": ALPHA,
            "deciding_level": DECIDING_LEVEL, "power": POWER, "degenerate_se": DEGENERATE_SE,
            "min_effect": {**MIN_EFFECT, **MIN_EFFECT_V4}, "metric_v4": METRIC_V4,
            "run_only_metrics": list(RUN_ONLY_METRICS), "run_scales": list(RUN_SCALES),
            "accelerator_scales": list(ACCELERATOR_SCALES), "non_evidence_scales": list(NON_EVIDENCE_SCALES),
            "equivalence_kinds": list(EQUIVALENCE_KINDS), "no_equivalence": list(NO_EQUIVALENCE_METRIC_PREFIXES),
            "speed": [list(SPEED_METRICS), SPEED_MIN_RECORDS, SPEED_MIN_RECORDS_PER_LR],
            "agreement": {"events": list(AGREEMENT_EVENTS), "rank_corr_min": RANK_CORR_MIN,
                          "rel_error_max": REL_ERROR_MAX, "quantities": AGREEMENT_QUANTITY},
            "stage2_rules": {"unit_event": UNIT_EVENT, "unit_sets": list(UNIT_SETS), "unit_quantity": UNIT_QUANTITY,
                             "second_order": [SECOND_ORDER_EVENT, SECOND_ORDER_PRED], "arm_sep": ARM_SEP,
                             "arms": ARM_TEXT},
            "texts": [STAGE_TEXT, PAIRING_TEXT, DECISION_TEXT, CLAIM_CELL_TEXT, INTERVAL_TEXT, PRIMARY_TEXT,
                      NOT_APPLICABLE_TEXT, HEADLINE_TEXT, IDENTITY_RULE_TEXT, COMPOSITE_RULE_TEXT_V4],
            "words": WORDS,
            "claims": {cid: {"statements": list(c.statements), "components": list(c.components),
                             "archs": list(c.archs), "datasets": list(c.datasets),
                             "rules": [rule_v4_manifest(r, p) for r, p in v4_rules(c)]}
                       for cid, c in CLAIMS.items()}}
