"""The prune-while-training protocol (docs/paper.md §5) as one frozen config.

Schedule, in *data epochs* (one data epoch = one pass over the training split):
``lr_phases`` = [[E_1, lr_1], [E_2, lr_2], ...] is the whole learning-rate schedule; the
``rounds`` pruning rounds come first and consume ``rounds · epochs_per_round`` data epochs of
phase 1 (each round: train that many data epochs at lr_1 — as a number of SGD steps,
round(epochs_per_round · batches per epoch) — then score and prune, then a fresh optimiser);
the rest of phase 1 and all later phases follow, one data epoch per record.

Scales (``RunConfig.preset``):
- ``full``  — the paper: 25 rounds × 1 epoch at 0.1, then 80−25 = 55 more at 0.1, 40 at 0.01,
  40 at 0.001 (lr_phases [[80, 0.1], [40, 0.01], [40, 0.001]]; 160 data epochs in all).
- ``short`` — every phase length ÷ 5: 25 rounds × 1/5 epoch of steps at 0.1, then 16−5 = 11
  epochs at 0.1, 8 at 0.01, 8 at 0.001 (lr_phases [[16, 0.1], [8, 0.01], [8, 0.001]];
  32 data epochs in all).
- ``cpu``   — the scale these 2-core CPU machines can afford (docs/protocol.md, "The cpu scale"):
  the paper's structure (25 rounds of the r_k schedule to 75 %, pruning early, then the three
  learning-rate phases in the paper's 80 : 40 : 40 proportion) compressed to 4 data epochs:
  25 rounds × 1/25 epoch of steps at 0.1, then 1 epoch at 0.1, 1 at 0.01, 1 at 0.001
  (lr_phases [[2, 0.1], [1, 0.01], [1, 0.001]]); importance on 256 images, probe batch 64.
- ``cpu2``  — stage 2 of the cpu scale (docs/protocol.md, "The stage-2 cpu protocol (cpu2)"): the
  ``cpu`` schedule with importance on 2,560 images (the authors' default), probe batch 64, and the
  per-round (pruning-record) validation on a fixed 1,000-image subset of the held-out images
  (``round_val_size``; post-pruning records, the final record and model selection use all of them).
- ``smoke`` — CPU tests: 512 training images, 256 held out, batch 64, 2 rounds × 1/2 epoch
  (4 steps), then 1 epoch each at 0.1, 0.01, 0.001 (lr_phases [[2, 0.1], [1, 0.01], [1, 0.001]]),
  importance on 128 images, probe batch 32, at most 256 test images.

Every field is a CLI flag (``add_config_arguments`` / ``config_from_args``); the run id is a
hash of ``canonical()``, which spells out every resolved default — except the fields of
``HASH_OPTIONAL`` (added after stage 1), which enter it only when they differ from their default, so
every run id stored before they existed stays the same.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

from gftheory.errors import UsageError

SCALES = ("full", "short", "cpu", "cpu2", "smoke")
DENSE = "none"   # the measure of a dense baseline run (target 0: same schedule, nothing pruned)
DATASETS = {"cifar10": 10, "cifar100": 100}
PRECISIONS = ("auto", "bf16", "fp32")
EVAL_SPLITS = ("auto", "holdout", "test")
# fields added after stage 1: left out of canonical() (and so of the run id) at these defaults
HASH_OPTIONAL = {"cpu_threads": 1, "round_val_size": None, "quota_from": None}


class ConfigError(UsageError):
    """A config value is invalid; the message names the field and the fix (exit status 2)."""


def architectures() -> tuple[str, ...]:
    """The registered architectures (``empirical.architectures.ARCHITECTURES``)."""
    from empirical.architectures import ARCHITECTURES
    return tuple(ARCHITECTURES)


def measures():
    """The measure registry as a read-only mapping: iterating lists the registered names; ``in``
    also accepts a measure from outside the package (``module:Class`` or an entry point of the
    group ``gftheory.measures``, loaded and checked on first use — gftheory.external)."""
    from gftheory.measures import MEASURES
    return MEASURES


def config_error(name: str, problem: str, fix: str):
    """Raise the ConfigError every config field uses: '<field>: <problem>; fix: <fix>'."""
    raise ConfigError(f"{name}: {problem}; fix: {fix}")


def check_arch_and_dataset(arch: str, dataset: str) -> None:
    """A registered architecture and a known dataset, or a ConfigError naming the choices."""
    if arch not in architectures():
        config_error("arch", f"unknown architecture {arch!r}", f"use one of {', '.join(architectures())}")
    if dataset not in DATASETS:
        config_error("dataset", f"unknown dataset {dataset!r}", f"use one of {', '.join(DATASETS)}")


@dataclass(frozen=True)
class RunConfig:
    """One prune-while-training run. Defaults = the paper's protocol at ``full`` scale."""
    arch: str = "resnet56"
    dataset: str = "cifar10"
    measure: str = "magnitude"
    seed: int = 0
    scale: str = "full"
    # pruning
    rounds: int = 25
    target: float = 0.75                 # fraction of prunable filters removed after all rounds
                                         # (0 with measure "none": the dense baseline)
    epochs_per_round: float = 1.0        # data epochs of training before each pruning event
    floor_fraction: float = 0.05         # every layer keeps ≥ int(floor·width)+1 filters (best-scored)
    coupled_residual: bool = False       # ResNet: remove residual-stream channels jointly (else mask)
    # optimisation
    lr_phases: tuple = ((80, 0.1), (40, 0.01), (40, 0.001))
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 1e-4
    temperature: float = 5.0             # logits / T in training and evaluation
    # importance estimation
    importance_samples: int = 2560
    importance_temperature: float | None = None  # None: the measure's own (Measure.importance_temperature), else T
    class_balanced_hg: bool = True       # class-balanced sample for measures that need Hg
    probe_size: int = 128                # fixed probe batch for the flow quantities at prune events
    # data
    holdout_size: int = 5000
    eval_split: str = "auto"             # auto: official test set if present, else held-out split
    max_train_samples: int | None = None  # None = all (after the hold-out)
    max_test_samples: int | None = None   # None = the whole official test set
    # execution
    precision: str = "auto"              # auto: bf16 autocast on CUDA, fp32 on CPU; bf16: also on CPU
    channels_last: bool = True           # NHWC activations and weights (CPU and CUDA)
    compile: bool = False                # torch.compile the training step (shapes change per round)
    device_independent: bool = False     # deterministic kernels (torch.use_deterministic_algorithms)
    cpu_threads: int = 1                 # torch intra-op (and inter-op) threads a CPU run sets for itself
    # stage 2 (HASH_OPTIONAL: out of the run id at their defaults)
    round_val_size: int | None = None    # pruning records validate on a fixed subset of this many
                                         # held-out images (None: all); later records on all of them
    quota_from: str | None = None        # layer-matched arm: per-layer removal counts of each round
                                         # from this measure's run (same config otherwise)

    # -- construction -------------------------------------------------------------------
    def __post_init__(self):
        phases = _parse_phases(self.lr_phases)
        object.__setattr__(self, "lr_phases", phases)
        self.validate()

    @classmethod
    def preset(cls, scale: str = "full", **overrides) -> "RunConfig":
        """The paper protocol at ``scale`` ("full" | "short" | "cpu" | "cpu2" | "smoke"), then
        ``overrides``."""
        if scale not in SCALES:
            raise ConfigError(f"unknown scale {scale!r}; fix: use one of {', '.join(SCALES)}")
        base: dict = {"scale": scale}
        if scale == "short":
            base.update(epochs_per_round=0.2, lr_phases=((16, 0.1), (8, 0.01), (8, 0.001)))
        elif scale == "cpu":
            base.update(epochs_per_round=0.04, lr_phases=((2, 0.1), (1, 0.01), (1, 0.001)),
                        importance_samples=256, probe_size=64)
        elif scale == "cpu2":
            base.update(epochs_per_round=0.04, lr_phases=((2, 0.1), (1, 0.01), (1, 0.001)),
                        importance_samples=2560, probe_size=64, round_val_size=1000)
        elif scale == "smoke":
            base.update(rounds=2, epochs_per_round=0.5, lr_phases=((2, 0.1), (1, 0.01), (1, 0.001)),
                        batch_size=64, max_train_samples=512, holdout_size=256,
                        importance_samples=128, probe_size=32, max_test_samples=256)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown config field(s) {sorted(unknown)}; fix: use one of "
                              f"{[f.name for f in dataclasses.fields(cls)]}")
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    # -- validation ---------------------------------------------------------------------
    def validate(self) -> None:
        bad = config_error
        check_arch_and_dataset(self.arch, self.dataset)
        if self.measure != DENSE and self.measure not in measures():
            why = measures().problem(self.measure) if ":" in str(self.measure) else None
            if why:
                raise ConfigError(f"measure: {why}")
            bad("measure", f"unknown measure {self.measure!r}",
                f"use one of {', '.join(measures())}, or {DENSE!r} with --target 0 for the dense baseline")
        if (self.measure == DENSE) != (self.target == 0):
            bad("target" if self.measure == DENSE else "measure",
                f"measure {self.measure!r} with target {self.target!r}: the dense baseline is exactly "
                f"measure {DENSE!r} with target 0", f"give --measure {DENSE} --target 0 for the dense "
                "baseline, or a real measure with a target in (0, 1)")
        if self.scale not in SCALES:
            bad("scale", f"unknown scale {self.scale!r}", f"use one of {', '.join(SCALES)}")
        if not isinstance(self.seed, int) or self.seed < 0:
            bad("seed", f"{self.seed!r} is not a non-negative integer", "give --seed 0, 1, 2, ...")
        if not isinstance(self.rounds, int) or self.rounds < 1:
            bad("rounds", f"{self.rounds!r} is not a positive integer", "give --rounds ≥ 1 (paper: 25)")
        if not 0 <= self.target < 1:
            bad("target", f"{self.target!r} is outside [0, 1)", "give the fraction of filters to prune, "
                "e.g. --target 0.75 (0 only for the dense baseline, with --measure none)")
        if not self.epochs_per_round > 0:
            bad("epochs_per_round", f"{self.epochs_per_round!r} is not > 0", "give e.g. 1 (full) or 0.2 (short)")
        if not 0 <= self.floor_fraction < 1:
            bad("floor_fraction", f"{self.floor_fraction!r} is outside [0, 1)", "give e.g. 0.05")
        for name in ("batch_size", "importance_samples", "probe_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                bad(name, f"{v!r} is not a positive integer", f"give --{_flag(name)} ≥ 1")
        if not isinstance(self.holdout_size, int) or self.holdout_size < 0:
            bad("holdout_size", f"{self.holdout_size!r} is not a non-negative integer", "give e.g. 5000")
        for name in ("max_train_samples", "max_test_samples"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                bad(name, f"{v!r} is not a positive integer", f"give --{_flag(name)} N ≥ 1, or none for all")
        if not isinstance(self.cpu_threads, int) or isinstance(self.cpu_threads, bool) or self.cpu_threads < 1:
            bad("cpu_threads", f"{self.cpu_threads!r} is not a positive integer",
                "give --cpu-threads 1 (what every cpu-scale run uses) or more")
        if self.round_val_size is not None:
            if not isinstance(self.round_val_size, int) or self.round_val_size < 1:
                bad("round_val_size", f"{self.round_val_size!r} is not a positive integer",
                    "give --round-val-size N ≥ 1 (cpu2: 1000), or none for all held-out images")
            if self.holdout_size < 1:
                bad("round_val_size", "a validation subset needs a held-out split",
                    "give --holdout-size ≥ 1, or --round-val-size none")
            if self.round_val_size > self.holdout_size:
                bad("round_val_size", f"{self.round_val_size} is more than the {self.holdout_size} held-out "
                    "images", f"give --round-val-size ≤ {self.holdout_size}, or none for all of them")
        if self.quota_from is not None:
            if self.quota_from not in measures():
                bad("quota_from", f"unknown measure {self.quota_from!r}",
                    f"name the measure whose run supplies the per-layer counts, one of {', '.join(measures())}")
            if self.dense:
                bad("quota_from", "the dense baseline prunes nothing", "drop --quota-from for --measure none")
        if not 0 <= self.momentum < 1:
            bad("momentum", f"{self.momentum!r} is outside [0, 1)", "give e.g. 0.9")
        if self.weight_decay < 0:
            bad("weight_decay", f"{self.weight_decay!r} is negative", "give e.g. 1e-4 or 0")
        if not self.temperature > 0:
            bad("temperature", f"{self.temperature!r} is not > 0", "give e.g. 5")
        if self.importance_temperature is not None and not self.importance_temperature > 0:
            bad("importance_temperature", f"{self.importance_temperature!r} is not > 0",
                "give a positive temperature, or none for the measure's default")
        if self.precision not in PRECISIONS:
            bad("precision", f"unknown precision {self.precision!r}", f"use one of {', '.join(PRECISIONS)}")
        if self.eval_split not in EVAL_SPLITS:
            bad("eval_split", f"unknown eval split {self.eval_split!r}", f"use one of {', '.join(EVAL_SPLITS)}")
        if self.eval_split == "holdout" and self.holdout_size < 1:
            bad("holdout_size", "eval_split 'holdout' needs a held-out split", "give --holdout-size ≥ 1")
        for k, (ep, lr) in enumerate(self.lr_phases):
            if not lr > 0:
                bad("lr_phases", f"phase {k + 1} has learning rate {lr!r} ≤ 0",
                    "give positive learning rates, e.g. --lr-phases 80:0.1,40:0.01,40:0.001")
            if not ep >= 0 or ep != int(ep):
                bad("lr_phases", f"phase {k + 1} has {ep!r} epochs, not a non-negative integer",
                    "give whole epochs, e.g. 80:0.1")
        pe = self.prune_epochs
        if abs(pe - round(pe)) > 1e-9:
            bad("epochs_per_round", f"rounds × epochs_per_round = {pe:g} is not a whole number of epochs",
                "choose epochs_per_round so that rounds × epochs_per_round is an integer")
        if round(pe) > self.lr_phases[0][0]:
            bad("lr_phases", f"the {self.rounds} pruning rounds take {pe:g} epochs, more than phase 1's "
                f"{self.lr_phases[0][0]}", "lengthen phase 1 or use fewer rounds")

    # -- derived ------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return DATASETS[self.dataset]

    @property
    def prune_epochs(self) -> float:
        """Data epochs consumed by the pruning rounds (taken from phase 1)."""
        return self.rounds * self.epochs_per_round

    @property
    def total_epochs(self) -> int:
        """All data epochs of the schedule (rounds included)."""
        return int(sum(ep for ep, _ in self.lr_phases))

    @property
    def dense(self) -> bool:
        """The dense baseline: the same schedule, nothing scored, probed or pruned."""
        return self.measure == DENSE

    @property
    def measure_default_temperature(self) -> float | None:
        """The measure's own importance temperature (``Measure.importance_temperature``; the
        authors' value), or None where it has none (the training temperature is used)."""
        from gftheory.measures import MEASURES
        return None if self.dense else MEASURES[self.measure].importance_temperature

    @property
    def effective_importance_temperature(self) -> float:
        if self.importance_temperature is not None:
            return float(self.importance_temperature)
        own = self.measure_default_temperature
        return float(self.temperature if own is None else own)

    def post_prune_schedule(self) -> list[tuple[int, float]]:
        """[(epochs, lr)] after the last round: phase 1 minus the rounds' epochs, then the rest."""
        (e1, lr1), rest = self.lr_phases[0], self.lr_phases[1:]
        out = [(int(e1 - round(self.prune_epochs)), lr1)] + [(int(e), lr) for e, lr in rest]
        return [(e, lr) for e, lr in out if e > 0]

    @property
    def round_lr(self) -> float:
        return float(self.lr_phases[0][1])

    def records(self) -> list[tuple[str, int, float]]:
        """The whole schedule as records: [(phase, index, lr)] — ("prune", k, lr) for round k, then
        ("train", j, lr) for each post-pruning epoch. Record number = position + 1."""
        out = [("prune", k, self.round_lr) for k in range(1, self.rounds + 1)]
        j = 0
        for ep, lr in self.post_prune_schedule():
            for _ in range(ep):
                j += 1
                out.append(("train", j, float(lr)))
        return out

    @property
    def quota_source(self) -> "RunConfig | None":
        """The run that supplies a layer-matched arm's per-layer counts: this config with
        ``measure = quota_from`` (and no quota of its own); None for an ordinary run."""
        if self.quota_from is None:
            return None
        return self.replace(measure=self.quota_from, quota_from=None)

    # -- identity -----------------------------------------------------------------------
    def canonical(self) -> dict:
        """Every field with defaults resolved, JSON-ready (lr_phases as [[epochs, lr], ...]);
        the ``HASH_OPTIONAL`` fields only where they differ from their default."""
        d = dataclasses.asdict(self)
        for k, default in HASH_OPTIONAL.items():
            if d[k] == default:
                del d[k]
        d["lr_phases"] = [[int(e), float(lr)] for e, lr in self.lr_phases]
        d["importance_temperature"] = self.effective_importance_temperature
        for k in ("target", "epochs_per_round", "floor_fraction", "momentum", "weight_decay",
                  "temperature"):
            d[k] = float(d[k])
        return dict(sorted(d.items()))

    def run_id(self) -> str:
        """16 hex digits of sha256 of the canonical JSON (sorted keys, no spaces)."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_canonical(cls, d: dict) -> "RunConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in fields})

    def deviations(self) -> list[str]:
        """Every way this run differs from the authors' released code (docs/paper.md §5, §7)."""
        out = [
            "per-layer floor int(floor_fraction·width)+1 keeps the best-scored filters (authors: the "
            "last-indexed ones)",
            "cumulative pruning target is not truncated to an integer each round and masked channels "
            "leave later rankings (no truncation drift; authors' ResNet-56 ends near 82 % for 75 %)",
            "model selection ('best') on a held-out validation split, never on the test set",
            "all RNGs seeded (python, numpy, torch, cuda) and data order/augmentation derived from the seed",
            "the released main.py raises NameError at start-up; this is a re-implementation, not a rerun",
        ]
        if self.dense:
            out.append("dense baseline (measure 'none', target 0): the same schedule with nothing scored, "
                       "probed or pruned; the authors' code has no such run")
        own = self.measure_default_temperature
        if not self.dense and own is None and self.importance_temperature is None:
            out.append(f"importance of {self.measure!r} at temperature {self.temperature:g} as in training")
        if self.importance_temperature is not None and own is not None \
                and self.importance_temperature != own:
            out.append(f"importance temperature {self.importance_temperature:g} instead of the authors' "
                       f"{own:g}")
        if self.measure == "loss_preservation":
            out.append("loss_preservation is the paper's |θ_pᵀg|; the authors' numbers used Σ|θ_i g_i| "
                       "(measure loss_preservation_elementwise)")
        if self.class_balanced_hg and not self.dense:
            out.append("class-balanced importance sample: floor(importance_samples/num_classes) per class")
        if not self.dense:
            out.append("importance batches: training images with the training augmentation (crop+flip) "
                       "drawn on the device, model in eval mode, logits / importance temperature")
        if self.scale != "full":
            out.append(f"scale {self.scale!r}: schedule {self.canonical()['lr_phases']} with "
                       f"{self.rounds} rounds × {self.epochs_per_round:g} epoch (not the paper's 160 epochs)")
        if self.round_val_size is not None:
            out.append(f"pruning-round records validate on a fixed subset of {self.round_val_size} of the "
                       f"{self.holdout_size} held-out images (post-pruning records, the final record and "
                       "model selection on all of them)")
        if self.quota_from is not None:
            out.append(f"layer-matched arm: every round removes, in each layer, as many units as the "
                       f"{self.quota_from!r} run of the same seed removed there, chosen by {self.measure!r} "
                       "within the layer (not in the paper)")
        if self.max_train_samples is not None:
            out.append(f"training on at most {self.max_train_samples} images")
        if self.precision == "auto":
            out.append("bf16 autocast on CUDA (fp32 master weights); fp32 on CPU; scoring and probes in fp32")
        elif self.precision == "bf16":
            out.append("bf16 autocast (fp32 master weights) on the run's device, CPU included; scoring and "
                       "probes in fp32")
        if self.channels_last:
            out.append("channels_last (NHWC) memory format for activations and weights, on CPU and CUDA")
        if self.coupled_residual:
            out.append("ResNet residual-stream channels removed jointly (authors: zero-masked)")
        out.append("the momentum buffer is kept across learning-rate phase changes; a fresh optimiser "
                   "after every pruning round")
        out += self._structural_deviations()
        return out

    def _structural_deviations(self) -> list[str]:
        """Differences in what is pruned and on what data (docs/protocol.md, Deviations 12–15);
        the network's own come from its ``Architecture.deviations``."""
        from empirical.architectures import get_architecture
        out = list(get_architecture(self.arch).deviations(self))
        if self.holdout_size > 0:
            out.append(f"trained on the training set minus {self.holdout_size} held-out images "
                       f"(45,000 of CIFAR's 50,000 at the default 5,000; authors: all 50,000)")
        return out


def _parse_phases(value) -> tuple:
    """"80:0.1,40:0.01" or [[80, 0.1], ...] -> ((80, 0.1), ...)."""
    try:
        if isinstance(value, str):
            pairs = [p.split(":") for p in value.replace(" ", "").split(",") if p]
            phases = tuple((int(e), float(lr)) for e, lr in pairs)
        else:
            phases = tuple((int(e) if float(e) == int(e) else float(e), float(lr)) for e, lr in value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"lr_phases: cannot read {value!r} ({exc}); fix: give "
                          "EPOCHS:LR pairs, e.g. --lr-phases 80:0.1,40:0.01,40:0.001") from None
    if not phases:
        raise ConfigError("lr_phases: empty; fix: give e.g. --lr-phases 80:0.1,40:0.01,40:0.001")
    return phases


# -- CLI ------------------------------------------------------------------------------------
def _flag(name: str) -> str:
    return name.replace("_", "-")


class _Null:
    """Marks an explicit "none" on the command line (argparse's None means "not given")."""
    def __repr__(self):
        return "none"


NULL = _Null()


def _optional(kind):
    def parse(text: str):
        if text.lower() in ("none", "null", ""):
            return NULL
        return kind(text)
    parse.__name__ = kind.__name__
    return parse


_HELP = {
    "arch": "architecture", "dataset": "cifar10 | cifar100", "measure": "importance measure",
    "lr_phases": "EPOCHS:LR,... whole schedule; rounds take their epochs from phase 1",
    "precision": "auto = bf16 autocast on CUDA, fp32 on CPU; bf16 = bf16 autocast on any device",
    "eval_split": "auto = official test set if present, else the held-out split",
    "cpu_threads": "torch threads a CPU run sets for itself (recorded; same run id, same numbers)",
    "round_val_size": "pruning records validate on a fixed subset of N held-out images (none = all)",
    "quota_from": "layer-matched arm: each round's per-layer removal counts from MEASURE's run "
                  "(same config; it must be complete in --root)",
}


def _importance_temperature_help() -> str:
    """"none = 200 for grasp, 1 for gradient_norm_preservation, else --temperature", from the
    measures' own temperatures."""
    from gftheory.measures import MEASURES
    own = [f"{m.importance_temperature:g} for {n}" for n, m in MEASURES.items()
           if m.importance_temperature is not None]
    return "none = " + ", ".join(own + ["else --temperature"])


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field (defaults: the --scale preset; only given flags override)."""
    g = parser.add_argument_group("protocol (defaults: the --scale preset; paper values at full)")
    g.add_argument("--scale", default="full", choices=SCALES,
                   help=" | ".join(SCALES) + " (default full)")
    hints = {f.name: f for f in dataclasses.fields(RunConfig)}
    for name, f in hints.items():
        if name == "scale":
            continue
        default = f.default
        help_ = (_importance_temperature_help() if name == "importance_temperature" else
                 _HELP.get(name, "")) + f" (full default: {default!r})"
        if isinstance(default, bool):
            g.add_argument(f"--{_flag(name)}", dest=name, default=None, action=argparse.BooleanOptionalAction,
                           help=help_)
        elif name == "lr_phases":
            g.add_argument(f"--{_flag(name)}", dest=name, default=None, help=help_)
        elif name in ("max_train_samples", "max_test_samples", "round_val_size"):
            g.add_argument(f"--{_flag(name)}", dest=name, default=None, type=_optional(int), help=help_)
        elif name == "quota_from":
            g.add_argument(f"--{_flag(name)}", dest=name, default=None, type=_optional(str), help=help_)
        elif name == "importance_temperature":
            g.add_argument(f"--{_flag(name)}", dest=name, default=None, type=_optional(float), help=help_)
        else:
            kind = type(default)
            g.add_argument(f"--{_flag(name)}", dest=name, default=None, type=kind, help=help_)


def config_from_args(args: argparse.Namespace, **overrides) -> RunConfig:
    """RunConfig.preset(args.scale) with every flag the user gave (and ``overrides``) applied."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig)
             if f.name != "scale" and getattr(args, f.name, None) is not None}
    given = {k: (None if v is NULL else v) for k, v in given.items()}
    given.update(overrides)
    return RunConfig.preset(getattr(args, "scale", "full") or "full", **given)


def finite(x) -> float | None:
    """float(x), or None for NaN/inf (JSON has no NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None
