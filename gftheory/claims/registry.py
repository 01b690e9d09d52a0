"""The claim registry: every claim of the paper we test, with the evidence that decides it and
its decision rule (``gftheory.claims.rules``), written before any data.

Evidence joins by id: ``statements`` are ids of ``gftheory.statements.STATEMENTS`` (proofs and
numeric checks), ``comparisons`` are empirical rules over stored runs, ``components`` are other
claims whose verdicts this one combines (Observations, abstract).
"""
from __future__ import annotations

from dataclasses import dataclass

from gftheory.claims.rules import (AGREEMENT_EVENTS, ARM_SEP, COMBINATIONS, RANK_CORR_MIN, REL_ERROR_MAX,
                                   RULES_VERSION_V3, UNIT_SETS, Comparison, NonInferior, OneSample)
from gftheory.claims.runs import ALL_MEASURES
from gftheory.measures import PAPER_MEASURES  # noqa: F401 - re-exported (Measure.in_paper)

# the architectures the paper validates on (docs/paper.md §6): a fact about the paper, kept here as data
# because the theory layer never imports ``empirical`` (tests/empirical/test_architectures.py checks that each is a
# registered ``empirical.architectures`` unit)
ARCHS = ("vgg13", "mobilenet_v1", "resnet56")
DATASETS = ("cifar10", "cifar100")
DEFAULT_SEEDS = 3
LP, LPE, BLP = "loss_preservation", "loss_preservation_elementwise", "biased_loss_preservation"
GNP = "gradient_norm_preservation"

KINDS = ("identity", "approximation", "empirical", "beyond the paper", "composite")


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    kind: str
    words: str                      # the paper's own words (or "reconstructed: ...")
    source: str
    formal: str                     # the formal statement we test
    statements: tuple = ()          # STATEMENTS ids: proofs + numeric checks
    comparisons: tuple = ()         # rules (Comparison / NonInferior / OneSample) over stored runs
    components: tuple = ()          # other claim ids combined
    archs: tuple = ARCHS
    datasets: tuple = DATASETS
    notes: str = ""
    plots: tuple = ()               # "curves" | "events" | "widths"
    combine: str = "all"            # how the rules combine (rules.COMBINATIONS), from the formal statement
    evidence: tuple = ("runs",)     # "runs" (prune-while-training, gftheory confirm) and/or "events" (gftheory events)
    registered: str = "3"           # the rules version the claim was registered under (v3's manifest holds only "3")

    @property
    def rules(self) -> tuple:
        return self.comparisons

    @property
    def judged_at_stage1(self) -> bool:
        """Registered under rules version 3, which judges stage 1 (exploratory). A claim registered
        under version 4 (issues 24, 25) was registered before its first data and has no v3 rule:
        only stage 2 (confirmatory) decides it."""
        return self.registered == RULES_VERSION_V3

    def cells_about(self) -> int:
        """How many (architecture, dataset) cells the claim is about (coverage denominator)."""
        return len(self.archs) * len(self.datasets)

    def measures(self) -> tuple[str, ...]:
        seen: list[str] = []
        for c in self.comparisons:
            for m in c.measures():
                if m not in seen:
                    seen.append(m)
        return tuple(seen)

    def rule_text(self) -> list[str]:
        """One readable sentence per rule, then how they combine and how parts combine."""
        lines = []
        if self.statements:
            lines.append(f"Theory part: the proofs and numeric checks of {', '.join(self.statements)} "
                         f"(identity rule).")
        for c in self.comparisons:
            lines.append(c.sentence() + (f" ({c.note})" if c.note else ""))
        if len(self.comparisons) > 1:
            lines.append(f"Combination ({self.combine}): {COMBINATIONS[self.combine]}; each scale separately.")
        elif self.comparisons:
            lines.append("The claim's verdict is this rule's verdict, each scale separately.")
        if self.components or (self.statements and self.comparisons):
            theory = list(self.statements) + [s for s in self.components
                                               if CLAIMS[s].kind in ("identity", "approximation")]
            empirical = [s for s in self.components if s not in theory] + (
                ["the combination of its own rules"] if self.comparisons else [])
            verb = "are" if len(empirical) > 1 else "is"
            holds = f" and the theory part ({', '.join(theory)}) holds" if theory else ""
            lines.append(f"Composite: positive only if {' and '.join(empirical)} {verb} confirmed{holds}; "
                         f"theory alone never makes it positive (composite rule).")
        return lines

    def commands(self, scale: str = "full", seeds: int = DEFAULT_SEEDS) -> list[str]:
        """The exact commands that reproduce this claim's evidence."""
        from proofs import PROOFS     # statement id → Proof, discovered in proofs/ (gftheory prove)
        cmds = []
        proved = [s for s in self.statements if s in PROOFS]
        if proved:
            cmds.append(f"gftheory prove {' '.join(proved)}")
        if self.statements:
            cmds.append(f"gftheory check --ids {','.join(self.statements)}")
        if (self.comparisons or self.components) and "runs" in self.evidence:
            if self.comparisons or any(CLAIMS[c].comparisons or CLAIMS[c].components for c in self.components):
                cmds.append(f"gftheory confirm {self.id} --scale {scale} --seeds 0-{seeds - 1}")
        if self.comparisons and "events" in self.evidence:
            seed_list = ",".join(str(i) for i in range(seeds))
            cmds += [f"gftheory events --arch {a} --seeds {seed_list} --root results/events" for a in self.archs]
        return cmds


def _id_claim(cid, title, words, source, formal, statements, kind="identity", notes=""):
    return Claim(cid, title, kind, words, source, formal, statements=statements, notes=notes)


_UNIFY = ("reconstructed (v1 abstract: importance measures unified as 'an order of time-derivative of "
          "the norm of model parameters')")

def arm(measure: str, reference: str) -> str:
    """The stage-2 arm's measure name (``rules.ARM_TEXT``): arm("grasp", "magnitude") = "grasp@magnitude"
    (quota-matched), arm("random", "magnitude") = "random@magnitude" (magnitude's layer-matched random arm)."""
    return f"{measure}{ARM_SEP}{reference}"


_QUOTA_REF = "magnitude"            # whose per-layer counts the quota arms keep (issue 24)
_LMR_LOSS = ("magnitude", LP, LPE, GNP)            # |ΔL| lower than random at the measure's own layer profile
# the measures whose layer profile the event study gives random arms (empirical.events.PAPER_MEASURES; the theory
# layer never imports ``empirical``): the paper's five, biased loss preservation is the paper's open question (E3)
LMR_MEASURES = ("magnitude", LP, LPE, "grasp", GNP)
_UNIT_CLAIM_NOTE = {
    "weights": "θ_p = the unit's filter weights, as in the paper",
    "channel": "θ_p = the filter with its BatchNorm γ and β: what surgery removes (a statement beyond the paper's θ_p)"}


def _unit_claim(q: str, unit_set: str) -> Claim:
    t1 = q == "t1"
    cid = f"{q.upper()}U" + ("" if unit_set == "weights" else "C")
    noun = "ΔL" if t1 else "Δ‖g‖²"
    pred = "−θ_pᵀg" if t1 else "−2θ_pᵀHg"
    return Claim(
        cid, f"the first-order {'loss' if t1 else 'gradient-norm'} prediction per unit"
        + ("" if unit_set == "weights" else ", physical removal"), "empirical",
        f"(reconstructed) removing unit p changes {'the loss' if t1 else '‖g‖²'} by {pred} + O(‖θ_p‖²)",
        f"docs/paper.md §2 {q.upper()}, per unit on real networks (issue 24)",
        f"event study (edition 2): at each checkpoint, single units removed one at a time; predicted {noun} = {pred} "
        f"against the actual {noun} on the per-unit probe, removal set: {_UNIT_CLAIM_NOTE[unit_set]}; Spearman ρ ≥ "
        f"{RANK_CORR_MIN} and median relative error ≤ {REL_ERROR_MAX} (each by δ; per checkpoint, mean over the "
        f"study's checkpoints, one value per seed; both rules)",
        comparisons=tuple(OneSample(ALL_MEASURES, f"{q}_unit_{stat}_margin_{unit_set}", "higher")
                          for stat in ("rank_corr", "rel_error")),
        datasets=("cifar10",), evidence=("events",), plots=(), registered="4",
        notes="the T1S/T2S thresholds (RANK_CORR_MIN, REL_ERROR_MAX) and δ; units stratified over layers and over "
              "magnitude × loss-preservation deciles (empirical.events_units)")


_STAGE2_CLAIMS = (
    *(_unit_claim(q, u) for q in ("t1", "t2") for u in UNIT_SETS),
    Claim("SO1", "the second-order loss prediction at the first-round event", "empirical",
          "(reconstructed) L(θ − θ_S) − L(θ) = −θ_Sᵀg + ½θ_SᵀHθ_S + O(‖θ_S‖³)",
          "docs/paper.md §2 T0/T1 (the next Taylor term), at scale (issue 24)",
          f"event study (edition 2): at the first-round events (≈ 10.7 % of the units), where the first-order "
          f"prediction fails in stage 1, the second-order prediction −θ_Sᵀg + ½θ_SᵀHθ_S against the actual ΔL over "
          f"every measure's events: Spearman ρ ≥ {RANK_CORR_MIN} and median relative error ≤ {REL_ERROR_MAX} (each by "
          f"δ), and its ρ higher than the first-order ρ on the same events by more than δ (all three rules). Either "
          f"outcome is reported as it is: confirmed = the curvature term θ_SᵀHθ_S accounts for what first order "
          f"misses at the paper's round size; contradicted or equivalent = it does not, and the first-order picture "
          f"fails there for a reason beyond second order",
          comparisons=(OneSample(ALL_MEASURES, "t1_so_rank_corr_margin_round1", "higher"),
                       OneSample(ALL_MEASURES, "t1_so_rel_error_margin_round1", "higher"),
                       OneSample(ALL_MEASURES, "so_rank_corr_gain_round1", "higher",
                                 note="per seed: second-order ρ − first-order ρ on the same events (paired by seed)")),
          datasets=("cifar10",), evidence=("events",), plots=(), registered="4",
          notes="θ_S = the removed filters' weights (the paper's θ_p); one Hessian-vector product per event"),
    Claim("E5Q", "with layer widths matched, GraSP still raises ‖g‖² more than gradient-norm preservation",
          "empirical", "Preserving gradient-norm maintains second-order model evolution dynamics and results in "
          "better-performing models than increasing gradient-norm.", "Observation 5; E5 with layer collapse removed "
          "(issue 24)",
          f"event study (edition 2), quota-matched arms: GraSP and gradient-norm preservation each rank units only "
          f"within each layer, every layer's removal count fixed to magnitude's at the same event ("
          f"'{arm('grasp', _QUOTA_REF)}', '{arm(GNP, _QUOTA_REF)}'); at the first-round events GraSP's log ‖g‖² ratio "
          f"is above 0 (as E5's ‖g‖² rule) and above gradient-norm preservation's (both rules)",
          comparisons=(OneSample(arm("grasp", _QUOTA_REF), "event_log_grad_norm_ratio", "higher"),
                       Comparison(arm("grasp", _QUOTA_REF), arm(GNP, _QUOTA_REF), "event_log_grad_norm_ratio",
                                  "higher")),
          datasets=("cifar10",), evidence=("events",), plots=(), registered="4",
          notes="E5's confound: GraSP empties early layers (E6); identical layer widths remove it"),
    Claim("E5QF", "with layer widths matched, GraSP still ends worse than gradient-norm preservation", "empirical",
          "Preserving gradient-norm maintains second-order model evolution dynamics and results in "
          "better-performing models than increasing gradient-norm.", "Observation 5; E5's accuracy rule with layer "
          "collapse removed (issue 24), MobileNet-V1 at the stage-2 cpu scale",
          f"prune-while-training, quota-matched on both sides: final accuracy of '{arm(GNP, _QUOTA_REF)}' (gradient-norm "
          f"preservation ranking within layers at magnitude's per-layer counts, every round) higher than that of "
          f"'{arm('grasp', _QUOTA_REF)}'",
          comparisons=(Comparison(arm(GNP, _QUOTA_REF), arm("grasp", _QUOTA_REF), "final_acc",
                                  note="both quota-matched to the same seed's magnitude run"),),
          archs=("mobilenet_v1",), datasets=("cifar10",), evidence=("runs",), plots=(), registered="4",
          notes="both arms need the same seed's magnitude run (their quota source, planned for E1); GraSP's 19-point "
                "loss on MobileNet-V1 at the cpu scale came with layer collapse"),
    Claim("LMR", "each paper measure against random at its own layer profile (pruning events)", "empirical",
          "(the layer-wise ratio, not the choice of units inside a layer, carries most of a method's effect: "
          "'The Unreasonable Effectiveness of Random Pruning'; not in the paper)", "beyond the paper (issue 24)",
          "event study (edition 2): each paper measure against its layer-matched random arm ('random@<measure>', "
          "random units within each layer at the measure's per-layer counts, mean over draws) at the first-round "
          "events: magnitude, both loss preservations and gradient-norm preservation change the loss less (|log "
          "L ratio| lower); GraSP raises the loss (log L ratio higher, Observation 4) and ‖g‖² more (log ‖g‖² ratio "
          "higher) and gradient-norm preservation changes ‖g‖² less (|log ‖g‖² ratio| lower), as their theory says; "
          "every measure recovers closer to the unpruned network (recovery gap lower) (all rules; a rule that fails "
          "says the argument lives only in the layer profile)",
          comparisons=(*(Comparison(m, arm("random", m), "event_abs_log_loss_ratio", "lower") for m in _LMR_LOSS),
                       Comparison("grasp", arm("random", "grasp"), "event_log_loss_ratio", "higher"),
                       Comparison("grasp", arm("random", "grasp"), "event_log_grad_norm_ratio", "higher"),
                       Comparison(GNP, arm("random", GNP), "event_abs_log_grad_norm_ratio", "lower"),
                       *(Comparison(m, arm("random", m), "recovery_gap", "lower") for m in LMR_MEASURES)),
          datasets=("cifar10",), evidence=("events",), plots=(), registered="4",
          notes="paired by construction (same checkpoint, importance sample and probe); GraSP's |ΔL| is not asked to "
                "be lower: Observation 4 says GraSP removes the parameters that raise the loss most"),
    Claim("LMRF", "magnitude and loss preservation against random at their own layer profile (final accuracy)",
          "empirical", "(not in the paper; the random-pruning literature: layer-wise ratios carry most of a "
          "method's effect)", "beyond the paper (issue 25), ResNet-56 and MobileNet-V1 at the stage-2 cpu scale",
          "prune-while-training: final accuracy of magnitude higher than that of 'random@magnitude' (random units "
          "within each layer at the same seed's magnitude run's per-layer counts, every round), and of loss "
          "preservation higher than that of 'random@loss_preservation' (both rules)",
          comparisons=(Comparison("magnitude", arm("random", "magnitude"), "final_acc"),
                       Comparison(LP, arm("random", LP), "final_acc")),
          archs=("resnet56", "mobilenet_v1"), datasets=("cifar10",), evidence=("runs",), plots=(), registered="4",
          notes="paired by fingerprint: the arm and its source share seed, initialisation and data order"),
)

_CLAIMS = [
    # ---- formal identities and approximations (docs/paper.md §2) ----
    _id_claim("F1", "norm rate under gradient flow", _UNIFY, "docs/paper.md §2 F1",
              "d‖θ‖²/dt = −2θᵀg; per unit d‖θ_p‖²/dt = −2θ_pᵀg; with weight decay −2θᵀg − 2λ‖θ‖²",
              ("F1", "F1_unit", "F1_wd")),
    _id_claim("F2", "loss decreases under gradient flow", _UNIFY, "docs/paper.md §2 F2",
              "dL/dt = −‖g‖² ≤ 0", ("F2",)),
    _id_claim("F3", "gradient-norm rate", _UNIFY, "docs/paper.md §2 F3", "d‖g‖²/dt = −2gᵀHg", ("F3",)),
    _id_claim("F4", "second derivative of the norm", _UNIFY, "docs/paper.md §2 F4",
              "d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg; per unit 2‖g_p‖² + 2θ_pᵀ(Hg)_p", ("F4", "F4_unit")),
    _id_claim("F5", "rate of the loss-preservation score", _UNIFY, "docs/paper.md §2 F5",
              "d(θ_pᵀg)/dt = −‖g_p‖² − θ_pᵀ(Hg)_p", ("F5",)),
    _id_claim("T0", "norm rate ≈ twice the loss gap to the origin",
              "reconstructed route to Observation 1", "docs/paper.md §2 T0",
              "L(0) = L(θ) − θᵀg + ½θᵀHθ + O(‖θ‖³), so d‖θ‖²/dt ≈ 2(L(0) − L(θ))", ("T0",),
              kind="approximation", notes="how good the approximation is on real networks is measured, not assumed"),
    _id_claim("T1", "first-order loss change of removing a unit", "reconstructed (paper Eq. 3 rationale)",
              "docs/paper.md §2 T1", "L(θ − θ_p) − L(θ) = −θ_pᵀg + O(‖θ_p‖²)", ("T1",), kind="approximation"),
    _id_claim("T2", "first-order gradient-norm change of removing a unit", "reconstructed (GraSP rationale)",
              "docs/paper.md §2 T2", "‖g(θ − θ_p)‖² − ‖g(θ)‖² = −2θ_pᵀHg + O(‖θ_p‖²)", ("T2",), kind="approximation"),
    # ---- empirical claims ----
    Claim("E1", "magnitude beats loss preservation in final accuracy", "empirical",
          "Magnitude-based pruning consistently performs better than loss-preservation based pruning",
          "paper body, Table 1 (VGG-13, MobileNet-V1, ResNet-56 × CIFAR-10/100)",
          "final accuracy(magnitude) > final accuracy(loss preservation), per architecture × dataset",
          comparisons=(Comparison("magnitude", LPE, "final_acc",
                                  note="Σ|θg|: what the authors' code ran for the paper's numbers"),
                       Comparison("magnitude", LP, "final_acc", note="|θ_pᵀg|: the paper's Eq. 3")),
          notes="paper (Eq. 3, |θ_pᵀg|) and code (Σ_i|θ_i g_i|) differ; both are tested",
          plots=("curves",)),
    Claim("E2", "magnitude-pruned models converge faster", "empirical",
          "train/test convergence for magnitude-based pruned models is faster than that for "
          "loss-preservation based pruned models",
          "paper body, Figure 1 (ResNet-56, CIFAR-10 and CIFAR-100, 25 rounds)",
          "convergence speed, separated from the final level (that is E1): for magnitude, the train loss and the "
          "test accuracy each have a smaller share of their own total change still to make during final "
          "training (faster) than for loss preservation, both formulations (all four rules)",
          comparisons=(Comparison("magnitude", LPE, "train_loss_speed", "lower"),
                       Comparison("magnitude", LPE, "eval_acc_speed", "lower"),
                       Comparison("magnitude", LP, "train_loss_speed", "lower"),
                       Comparison("magnitude", LP, "eval_acc_speed", "lower")),
          archs=("resnet56",), plots=("curves",),
          notes="the paper's figure uses 25 pruning rounds: the full-scale preset"),
    Claim("E3", "biased loss preservation vs plain loss preservation", "empirical",
          "the paper asks whether biasing loss preservation towards small-magnitude parameters helps "
          "(its answer is not available to us)", "paper body (biased loss preservation)",
          "final accuracy(Σθ_i²|g_i|) > final accuracy(loss preservation) (pre-registered direction: "
          "biasing towards magnitude helps, as magnitude beats loss preservation)",
          comparisons=(Comparison(BLP, LPE, "final_acc"), Comparison(BLP, LP, "final_acc")),
          plots=("curves",)),
    Claim("E4", "loss preservation preserves first-order dynamics at pruning events", "empirical",
          "loss-preservation based pruning preserves first-order model evolution dynamics",
          "abstract (ii); Observation 2",
          "at pruning events loss preservation changes θᵀg (the norm rate, F1) and the loss L least: "
          "relative |Δθᵀg| and |ΔL| lower than for every other measure (all 12 rules)",
          comparisons=tuple(Comparison(LP, other, metric, "lower")
                            for metric in ("event_rel_abs_dtheta_g", "event_rel_abs_dloss")
                            for other in ("magnitude", LPE, BLP, "grasp", GNP, "random")),
          evidence=("runs", "events"), plots=("events",),
          notes="before/after measured on one fixed probe batch in eval mode at the probe's temperature"),
    Claim("E5", "GraSP ends worse than gradient-norm preservation and raises ‖g‖²", "empirical",
          "Preserving gradient-norm maintains second-order model evolution dynamics and results in "
          "better-performing models than increasing gradient-norm.", "Observation 5; abstract (iii)",
          "final accuracy(|θ_pᵀHg|) > final accuracy(GraSP), and mean relative Δ‖g‖² at GraSP's pruning "
          "events > 0 (both rules)",
          comparisons=(Comparison(GNP, "grasp", "final_acc"),
                       OneSample("grasp", "event_rel_dgrad_norm_sq", "higher")),
          evidence=("runs", "events"), plots=("curves", "events")),
    Claim("E6", "which layers each measure empties", "empirical",
          "GraSP damages early layers (a finding reported for GraSP in the pruning-at-init literature)",
          "beyond the paper's tables; per-layer remaining widths",
          "GraSP leaves a smaller fraction of the units of the first third of the prunable layers than "
          "magnitude does (descriptive per-layer widths shown for every measure)",
          comparisons=(Comparison("magnitude", "grasp", "early_width_fraction"),),
          evidence=("runs", "events"), plots=("widths",),
          notes="ResNet-56 residual-stream channel spaces (layer2, layer3) are zero-masked, not removed, so "
                "their recorded widths stay at the original; the first third of ResNet-56's spaces is the "
                "first stage's block-internal convolutions"),
    Claim("E7", "every measure against random pruning", "empirical",
          "(the naive baseline the field now insists on; not in the paper)", "beyond the paper",
          "final accuracy(measure) > final accuracy(random), for each paper measure",
          comparisons=tuple(Comparison(m, "random", "final_acc") for m in PAPER_MEASURES),
          plots=("curves",),
          notes="the protocol runs random with the same global ranking and per-round ratios as the other "
                "measures, so its per-layer ratios are close to uniform, not those of the measure compared"),
    Claim("E8", "after one pruning event, magnitude-pruned networks recover faster", "empirical",
          "If these large-magnitude parameters are preserved while pruning (instead of smaller ones), the pruned "
          "model's loss decreases faster.", "Observation 1 (second sentence), tested on single events",
          "event study: after the first-round event and the same recovery steps, the loss gap to the unpruned "
          "network is lower for magnitude than for random and than for loss_preservation_elementwise (both rules)",
          comparisons=(Comparison("magnitude", "random", "recovery_gap", "lower"),
                       Comparison("magnitude", LPE, "recovery_gap", "lower")),
          datasets=("cifar10",), evidence=("events",), plots=("events",),
          notes="paired: every measure prunes the same checkpoint and recovers on the same batches"),
    Claim("T1S", "the first-order loss prediction on real networks", "empirical",
          "(reconstructed) removing unit p changes the loss by −θ_pᵀg + O(‖θ_p‖²)", "docs/paper.md §2 T1, at scale",
          f"event study: predicted ΔL = −θ_Sᵀg against the actual ΔL over every measure's events, per event size "
          f"(1 %, first round, fifth round): Spearman ρ ≥ {RANK_CORR_MIN} and median relative error ≤ "
          f"{REL_ERROR_MAX} (each by δ); the rules that fail say at which ratio the first-order picture stops holding",
          comparisons=tuple(OneSample(ALL_MEASURES, f"t1_{stat}_margin_{e}", "higher")
                            for e in AGREEMENT_EVENTS for stat in ("rank_corr", "rel_error")),
          datasets=("cifar10",), evidence=("events",), plots=("events",),
          notes="θ_S = the removed filters' conv weights (the paper's θ_p); physical removal also drops their BN "
                "shift, which the recorded 'channel' prediction includes"),
    Claim("T2S", "the first-order gradient-norm prediction on real networks", "empirical",
          "(reconstructed) removing unit p changes ‖g‖² by −2θ_pᵀHg + O(‖θ_p‖²)", "docs/paper.md §2 T2, at scale",
          f"event study: predicted Δ‖g‖² = −2θ_Sᵀ(Hg) against the actual Δ‖g‖², per event size: Spearman ρ ≥ "
          f"{RANK_CORR_MIN} and median relative error ≤ {REL_ERROR_MAX} (each by δ)",
          comparisons=tuple(OneSample(ALL_MEASURES, f"t2_{stat}_margin_{e}", "higher")
                            for e in AGREEMENT_EVENTS for stat in ("rank_corr", "rel_error")),
          datasets=("cifar10",), evidence=("events",), plots=("events",)),
    # ---- stage 2 (issues 24, 25): registered under rules version 4 before their first data ----
    *_STAGE2_CLAIMS,
    # ---- Observations (verbatim) ----
    Claim("O1", "large-magnitude parameters: lower loss, faster decrease after pruning", "composite",
          "The larger the magnitude of parameters at a particular instant, the smaller the model loss at "
          "that instant will be. If these large-magnitude parameters are preserved while pruning (instead "
          "of smaller ones), the pruned model's loss decreases faster.", "Observation 1",
          "T0 (d‖θ‖²/dt ≈ 2(L(0) − L(θ)): larger ‖θ‖ with the same rate means lower loss) holds, and the "
          "train loss of magnitude-pruned models converges faster than that of models pruned by random, "
          "loss preservation or its elementwise form, which keep smaller parameters (all three rules)",
          statements=("T0",), components=("E8",),
          comparisons=(Comparison("magnitude", "random", "train_loss_speed", "lower"),
                       Comparison("magnitude", LPE, "train_loss_speed", "lower"),
                       Comparison("magnitude", LP, "train_loss_speed", "lower")),
          plots=("curves",),
          notes="T0 is calculus, true whatever the data: it is the theory part and never the positive part. "
                "An inverse-magnitude control (prune the largest) is not run; random is the nearest control"),
    Claim("O2", "loss preservation = half the norm rate", "identity",
          "Up to a constant, the magnitude of time-derivative of norm of model parameters (the score for "
          "magnitude-based pruning) is equal to the importance measure used for loss-preservation "
          "(Equation 3). Further, loss-preservation corresponds to removal of the slowest changing parameters.",
          "Observation 2", "|θ_pᵀg| = ½|d‖θ_p‖²/dt| (with F1 per unit)", statements=("O2", "F1_unit")),
    Claim("O3", "magnitude-based measures preserve loss", "composite",
          "Due to their closely related nature, when used with additional heuristics, magnitude-based "
          "importance measures preserve loss.", "Observation 3",
          "O2 holds (magnitude's score and loss preservation's are time-derivatives of the same norm), and at "
          "pruning events magnitude preserves the loss: its relative |ΔL| is lower than random's and not "
          "higher than loss preservation's by δ or more (both rules)",
          statements=("O2",),
          comparisons=(Comparison("magnitude", "random", "event_rel_abs_dloss", "lower"),
                       NonInferior("magnitude", LP, "event_rel_abs_dloss", "lower",
                                   note="preserves loss about as well as the measure designed to")),
          evidence=("runs", "events"), plots=("events",)),
    Claim("O4", "raising the gradient norm removes loss-critical parameters", "composite",
          "Increasing gradient-norm via pruning removes parameters that maximally increase model loss.",
          "Observation 4",
          "T2 and GRASP_SIGN hold (lowest θ_pᵀHg raises ‖g‖² most), GraSP's pruning events do raise ‖g‖², and "
          "they raise the loss more than every other measure's events (relative ΔL higher than for each of "
          "magnitude, both loss preservations, biased loss preservation, gradient-norm preservation, random; "
          "all seven rules)",
          statements=("GRASP_SIGN",), components=("T2",),
          comparisons=(OneSample("grasp", "event_rel_dgrad_norm_sq", "higher"),)
          + tuple(Comparison("grasp", other, "event_rel_dloss", "higher")
                  for other in ("magnitude", LP, LPE, BLP, GNP, "random")),
          evidence=("runs", "events"), plots=("events",)),
    Claim("O5", "preserving the gradient norm beats raising it", "composite",
          "Preserving gradient-norm maintains second-order model evolution dynamics and results in "
          "better-performing models than increasing gradient-norm.", "Observation 5",
          "F4 holds (d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg: the second-order dynamics), and at pruning events "
          "gradient-norm preservation changes ‖g‖² + θᵀHg and ‖g‖² less than GraSP does, and ends with higher "
          "final accuracy than GraSP (all three rules)",
          statements=("F4", "F4_unit"),
          comparisons=(Comparison(GNP, "grasp", "event_rel_abs_daccel", "lower"),
                       Comparison(GNP, "grasp", "event_rel_abs_dgrad_norm_sq", "lower"),
                       Comparison(GNP, "grasp", "final_acc")),
          evidence=("runs", "events"), plots=("curves", "events")),
    # ---- abstract ----
    Claim("Ai", "magnitude pruning: faster-converging models", "composite",
          "magnitude-based pruning removes parameters that contribute least to reduction in loss, resulting "
          "in models that converge faster than magnitude-agnostic methods", "abstract (i)",
          "E1 and E2", components=("E1", "E2")),
    Claim("Aii", "loss preservation preserves first-order dynamics", "composite",
          "loss-preservation based pruning preserves first-order model evolution dynamics", "abstract (ii)",
          "E4", components=("E4",)),
    Claim("Aiii", "raising the gradient norm can produce poor models", "composite",
          "gradient-norm based pruning affects second-order model evolution dynamics, such that increasing "
          "gradient norm via pruning can produce poorly performing models", "abstract (iii)",
          "E5", components=("E5",)),
    # ---- beyond the paper ----
    Claim("B1", "BatchNorm scale invariance makes |θ_pᵀg| degenerate", "beyond the paper",
          "(not in the paper)", "beyond the paper",
          "with BatchNorm's ε = 0, a filter followed by train-mode BatchNorm is scale-invariant: θ_pᵀg_p = 0 "
          "and d‖θ_p‖²/dt = 0, so loss preservation |θ_pᵀg| scores it 0 (degenerate) in train mode; with "
          "ε > 0 (as in practice) the invariance and the zero are only approximate (not proved here)",
          statements=("BN_SCALE",)),
    Claim("B2", "balancedness of bias-free ReLU networks", "beyond the paper", "(not in the paper)",
          "beyond the paper (Du et al. 2018)",
          "d/dt(‖w_in,j‖² − ‖w_out,j‖²) = 0 for each hidden unit j under gradient flow",
          statements=("BALANCE",)),
    Claim("B3", "paper vs code: Σ|θg| bounds |θᵀg|", "identity",
          "(paper Eq. 3 is |θ_pᵀg|; the authors' code ran Σ_i|θ_i g_i|)", "docs/paper.md §4, §7 item 3",
          "Σ_i|θ_i g_i| ≥ |θ_pᵀg|, and the two rank filters differently (E1, E3 test both empirically)",
          statements=("ELEMENTWISE_BOUND",)),
    Claim("B4", "mask-gradient convention", "identity", "(SNIP mask convention)", "docs/neighbours.md item 3",
          "∂L/∂c at c = 1 equals θ ⊙ ∂L/∂θ for a multiplicative mask c", statements=("MASK",)),
    Claim("B5", "rankings invariant to loss scaling", "identity", "(normalisation ambiguity)", "docs/neighbours.md item 3",
          "every measure's ranking is invariant to a positive rescaling of the loss",
          statements=("SCALE_INVARIANT_RANKING",)),
]

CLAIMS: dict[str, Claim] = {c.id: c for c in _CLAIMS}

REQUIRED_IDS = ("F1", "F2", "F3", "F4", "F5", "T0", "T1", "T2", "O1", "O2", "O3", "O4", "O5",
                "Ai", "Aii", "Aiii", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "B1", "B2")


def get_claim(cid: str) -> Claim:
    """Case-insensitive lookup; a usage error names the known ids."""
    from gftheory.errors import UsageError
    for k, c in CLAIMS.items():
        if k.lower() == cid.lower():
            return c
    raise UsageError(f"unknown claim {cid!r}; fix: use one of {', '.join(CLAIMS)} (see `gftheory claims`)")


def runs_needed(claim: Claim) -> list[tuple[str, str, str]]:
    """(architecture, dataset, measure) triples a claim's empirical evidence needs, components
    included, in a stable order; each is run for every seed."""
    triples: list[tuple[str, str, str]] = []

    def visit(c: Claim):
        if "runs" not in c.evidence:          # event-study claims: `gftheory events`, not runs
            for sub in c.components:
                visit(CLAIMS[sub])
            return
        for a in c.archs:
            for d in c.datasets:
                for m in c.measures():
                    if (a, d, m) not in triples:
                        triples.append((a, d, m))
        for sub in c.components:
            visit(CLAIMS[sub])

    visit(claim)
    return triples


# ---------------------------------------------------------------- rules version 4
def v4_rule(rule):
    """The v4 form of a v3 rule: the same kind, measures and direction on the v4 metric
    (``rules.METRIC_V4``: heavy-tailed ratios replaced by log ratios)."""
    import dataclasses
    from gftheory.claims.rules import METRIC_V4
    return dataclasses.replace(rule, metric=METRIC_V4.get(rule.metric, rule.metric))


def primary_evidence(claim: Claim, rule) -> str:
    """'runs' or 'events' (``rules.PRIMARY_TEXT``): run-only metrics on runs; every other metric of
    a claim that names event studies on the event study; else runs."""
    from gftheory.claims.rules import RUN_ONLY_METRICS
    if rule.metric in RUN_ONLY_METRICS or "events" not in claim.evidence:
        return "runs"
    return "events"


def v4_rules(claim: Claim) -> tuple:
    """((rule, primary evidence), ...): the claim's rules under rules version 4."""
    out = []
    for r in claim.comparisons:
        r4 = v4_rule(r)
        out.append((r4, primary_evidence(claim, r4)))
    return tuple(out)
