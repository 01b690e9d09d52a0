"""The pruning-event study: what *one* pruning event does to the training dynamics, every measure
applied to the same checkpoint, the same importance sample and the same probe (a paired design;
seeds are the unit of replication). Protocol and decision rules: docs/protocol.md, "The event study".

One study = one (architecture, dataset, seed):
1. Trajectory: the dense network trained with the paper's recipe (SGD lr 0.1, momentum 0.9, weight
   decay 1e-4, batch 128, logits / T, crop + flip) for max(checkpoints) data epochs; the model is
   kept after each epoch listed in ``checkpoints``.
2. At each checkpoint, in eval mode: the probe (``probe_size`` fixed un-augmented training images,
   at the training temperature) gives L, θᵀg, ‖g‖², θᵀHg and the per-channel first-order
   predictions; every measure scores the filters from one importance sample (its own temperature,
   as in the prune-while-training runs).
3. Events per measure, each from the checkpoint (the same scores):
   ``round1``  the schedule's first round (r_1 of ``schedule_rounds`` rounds to ``schedule_target``),
               probe after (with Hg), held-out accuracy, then ``recovery_steps`` SGD steps at ``lr``
               (fresh optimiser, the same data order for every measure) with the probe loss recorded;
   ``small``   ``small_ratio`` of the units, probe after (L, θᵀg, ‖g‖²);
   ``roundK``  for K in ``later_rounds``: rounds 1..K−1 of the schedule with this measure (rescored
               after every round on the same sample, no training), then round K as the event;
   ``profile`` a one-shot ``profile_ratio`` event: the per-layer widths only.
   A dense control (measure "none") records the recovery of the unpruned checkpoint.
Predictions next to every actual change (removed set S, first order, docs/paper.md T1/T2):
ΔL ≈ −θ_Sᵀg and Δ‖g‖² ≈ −2θ_Sᵀ(Hg), with θ_S either the removed filters' conv weights ("weights",
the paper's θ_p) or every parameter slice the removed channels own ("channel": the filter, its BN
γ, β and, in MobileNet, the depthwise channel that follows).

Results: ``<root>/<study id>/`` in the event-study layout of gftheory.runstore — config.json
(``"kind": "event_study"``), events.jsonl (one record per event, appended atomically, skipped on
resume), summary.json when complete; trajectory checkpoints (``trajectory.pt``,
``checkpoint_e<E>.pt``) are never evidence and are not committed.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from empirical.config import ConfigError, RunConfig, finite
from empirical.fingerprint import init_fingerprint
from gftheory import runstore
from gftheory.measures import MEASURES
from gftheory.runstore import EVENT_STUDY, TRAJECTORY, study_checkpoint
from gftheory.state import preserved_modes

# every measure registered when this module is imported (the built-ins, in registry order)
ALL_MEASURES = tuple(MEASURES)
# edition 2 (issue 24): the measures some registered rule reads (l1, fisher and synflow enter none)
EDITION2_MEASURES = tuple(m for m in ("magnitude", "loss_preservation", "loss_preservation_elementwise",
                                      "biased_loss_preservation", "grasp", "gradient_norm_preservation",
                                      "random") if m in MEASURES)
# the paper's measures: layer-matched random arms (edition 2) at round1 and the 75 % event
PAPER_MEASURES = ("magnitude", "loss_preservation", "loss_preservation_elementwise", "grasp",
                  "gradient_norm_preservation")
# edition-2 fields: absent from an edition-1 config's canonical form (so its id is unchanged)
EDITION2_FIELDS = ("edition", "units_per_checkpoint", "unit_probe_size", "random_draws",
                   "random_recovery_draws", "quota_measures", "quota_reference", "layer_random_measures",
                   "probe_chunk")


@dataclass(frozen=True)
class EventConfig:
    """One event study (see module docstring); every field is a ``gftheory events`` flag."""
    arch: str = "resnet56"
    dataset: str = "cifar10"
    seed: int = 0
    checkpoints: tuple = (1, 3)          # data epochs of dense training before the events
    measures: tuple | None = None        # None: edition 1 every measure, edition 2 EDITION2_MEASURES
    schedule_target: float = 0.75        # the prune-while-training schedule the events belong to
    schedule_rounds: int = 25
    small_ratio: float = 0.01
    profile_ratio: float = 0.75
    later_rounds: tuple = (5,)
    floor_fraction: float = 0.05
    importance_samples: int = 512
    probe_size: int = 512
    val_size: int = 1000                 # held-out images for accuracy before/after each event
    recovery_steps: int = 50
    recovery_eval: tuple = (10, 25, 50)  # recovery steps at which the probe loss is recorded
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 128
    temperature: float = 5.0
    holdout_size: int = 5000
    max_train_samples: int | None = None
    channels_last: bool = True
    # -- edition 2 (issue 24; docs/protocol.md, "Second edition"); edition 1 ignores them ----------
    edition: int = 2
    units_per_checkpoint: int = 100      # per-unit events: half a layout panel, half a decile panel
    unit_probe_size: int = 128           # the per-unit events' probe: the probe's first images
    random_draws: int = 5                # layer-matched random arms: draws per (measure, event)
    random_recovery_draws: int = 1       # ... of which this many get the recovery run
    quota_measures: tuple = ("grasp", "gradient_norm_preservation")
    quota_reference: str = "magnitude"   # whose per-layer counts the quota arms keep
    layer_random_measures: tuple = PAPER_MEASURES
    probe_chunk: int = 128               # eval-mode probes in chunks of this many images (same L, g)

    def __post_init__(self):
        if self.measures is None:
            object.__setattr__(self, "measures", ALL_MEASURES if self.edition == 1 else EDITION2_MEASURES)
        for name in ("checkpoints", "measures", "later_rounds", "recovery_eval", "quota_measures",
                     "layer_random_measures"):
            v = getattr(self, name)
            if isinstance(v, str):
                v = [x for x in v.replace(" ", "").split(",") if x]
            kind = str if name in ("measures", "quota_measures", "layer_random_measures") else int
            object.__setattr__(self, name, tuple(kind(x) for x in v))
        self.validate()

    def validate(self) -> None:
        from empirical.config import check_arch_and_dataset, config_error, measures

        bad = config_error
        check_arch_and_dataset(self.arch, self.dataset)
        unknown = [m for m in self.measures if m not in measures()]
        if unknown or not self.measures:
            bad("measures", f"unknown or no measures {unknown}", f"use names from {', '.join(measures())}")
        if not self.checkpoints or min(self.checkpoints) < 1 or list(self.checkpoints) != sorted(set(self.checkpoints)):
            bad("checkpoints", f"{self.checkpoints!r} is not an increasing list of epochs ≥ 1", "give e.g. 1,3")
        for name in ("small_ratio", "profile_ratio", "schedule_target"):
            if not 0 < getattr(self, name) < 1:
                bad(name, f"{getattr(self, name)!r} is outside (0, 1)", "give a fraction, e.g. 0.01")
        if any(not 2 <= k <= self.schedule_rounds for k in self.later_rounds):
            bad("later_rounds", f"{self.later_rounds!r} not within 2..{self.schedule_rounds}", "give e.g. 5")
        if any(not 1 <= s <= self.recovery_steps for s in self.recovery_eval):
            bad("recovery_eval", f"{self.recovery_eval!r} not within 1..{self.recovery_steps}", "give e.g. 10,25,50")
        for name in ("importance_samples", "probe_size", "val_size", "batch_size", "schedule_rounds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                bad(name, f"{getattr(self, name)!r} is not a positive integer", f"give --{name.replace('_', '-')} ≥ 1")
        if not isinstance(self.seed, int) or self.seed < 0:
            bad("seed", f"{self.seed!r} is not a non-negative integer", "give --seed 0, 1, 2, ... (or --seeds 0,1,2)")
        if self.recovery_steps < 0:
            bad("recovery_steps", f"{self.recovery_steps!r} is negative", "give --recovery-steps 0 or more")
        if self.edition not in (1, 2):
            bad("edition", f"{self.edition!r} is not 1 or 2", "give --edition 2 (or 1 for the first study)")
        if self.edition == 1:
            changed = [f.name for f in dataclasses.fields(self) if f.name in EDITION2_FIELDS
                       and f.name != "edition" and getattr(self, f.name) != f.default]
            if changed:
                bad("edition", f"edition 1 has no {', '.join(changed)}", "drop them or give --edition 2")
            return
        for name in ("units_per_checkpoint", "random_draws", "random_recovery_draws"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                bad(name, f"{getattr(self, name)!r} is not a non-negative integer", "give e.g. 100")
        for name in ("unit_probe_size", "probe_chunk"):      # at most probe_size are used
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                bad(name, f"{getattr(self, name)!r} is not a positive integer", "give e.g. 128")
        if self.random_recovery_draws > self.random_draws:
            bad("random_recovery_draws", f"{self.random_recovery_draws} > random_draws {self.random_draws}",
                "give at most --random-draws")
        unknown = [m for m in (*self.quota_measures, *self.layer_random_measures, self.quota_reference)
                   if m not in measures()]
        if unknown:
            bad("quota_measures/layer_random_measures", f"unknown measures {unknown}",
                f"use names from {', '.join(measures())}")

    def quota_arms(self) -> tuple:
        """The quota-matched measures this study runs (those of ``quota_measures`` it scores, when
        it also scores ``quota_reference``)."""
        if self.edition < 2 or self.quota_reference not in self.measures:
            return ()
        return tuple(m for m in self.quota_measures if m in self.measures and m != self.quota_reference)

    def layer_random_arms(self) -> tuple:
        """The measures whose layer profile gets random arms (those of ``layer_random_measures`` it scores)."""
        if self.edition < 2 or not self.random_draws:
            return ()
        return tuple(m for m in self.layer_random_measures if m in self.measures)

    # -- identity, as RunConfig ---------------------------------------------------------
    def canonical(self) -> dict:
        """The config as stored (config.json's ``config``); an edition-1 config has exactly the
        keys it had before editions existed, so its id is unchanged."""
        d = dataclasses.asdict(self)
        for k in ("checkpoints", "measures", "later_rounds", "recovery_eval", "quota_measures",
                  "layer_random_measures"):
            d[k] = list(d[k])
        if self.edition == 1:
            d = {k: v for k, v in d.items() if k not in EDITION2_FIELDS}
        return {"kind": EVENT_STUDY, **dict(sorted(d.items()))}

    @classmethod
    def from_canonical(cls, d: dict) -> "EventConfig":
        """The config of a stored study (``config.json``'s ``config``): one without ``edition``
        is edition 1 (every study stored before editions existed)."""
        d = {k: v for k, v in d.items() if k != "kind"}
        d.setdefault("edition", 1)
        return cls(**d)

    def run_id(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return "ev-" + hashlib.sha256(blob.encode()).hexdigest()[:13]

    def training_config(self) -> RunConfig:
        """The dense trajectory's protocol as a RunConfig (data split, recipe)."""
        return RunConfig.preset("full", arch=self.arch, dataset=self.dataset, measure="none", target=0.0,
                                seed=self.seed, batch_size=self.batch_size, momentum=self.momentum,
                                weight_decay=self.weight_decay, temperature=self.temperature,
                                holdout_size=self.holdout_size, max_train_samples=self.max_train_samples,
                                eval_split="holdout", channels_last=self.channels_last)

    def importance_temperature(self, measure: str) -> float:
        """The measure's own importance temperature, else the training temperature."""
        return MEASURES[measure].temperature_for(self.temperature)

    def first_round_ratio(self) -> float:
        from empirical.pruning.schedule import round_ratio
        return float(round_ratio(1, self.schedule_target, self.schedule_rounds))

    def events_per_checkpoint(self) -> list[tuple[str, str]]:
        """[(measure, event)] in execution order (the dense control first). Edition 2 adds the
        per-unit events (``("none", "units")``), the quota arms (``round1_quota``,
        ``profile_quota``) and the layer-matched random arms (``round1_layer_random``,
        ``profile_layer_random``), each after the events it is matched to."""
        out = [("none", "control")]
        if self.edition >= 2 and self.units_per_checkpoint:
            out.append(("none", "units"))
        for m in self.measures:
            out += [(m, "round1"), (m, "small")] + [(m, f"round{k}") for k in self.later_rounds] + [(m, "profile")]
        out += [(m, f"{ev}_quota") for m in self.quota_arms() for ev in ("round1", "profile")]
        out += [(m, f"{ev}_layer_random") for m in self.layer_random_arms() for ev in ("round1", "profile")]
        return out


# ------------------------------------------------------------------------------ quantities
def _flat_owned(obj, model: nn.Module, space_channels: dict[str, list[int]],
                mask_filters: dict[str, list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 0/1 vectors over flat θ: the removed filters' conv weights ("weights") and every slice
    the removed channels own ("channel": producers' output slices per ``channel_layout``)."""
    from empirical.architectures import bn_after, channel_layout
    params = dict(model.named_parameters())
    offsets = obj.spec.offsets()
    w_mask = {n: torch.zeros_like(p) for n, p in params.items() if n in offsets}
    c_mask = {n: torch.zeros_like(p) for n, p in params.items() if n in offsets}
    layout = channel_layout(model)
    for e in layout:
        chans = space_channels.get(e.out_space) if e.out_space else None
        if chans and e.kind in ("conv", "dwconv", "bn"):
            for attr in ("weight", "bias"):
                n = f"{e.module}.{attr}"
                if n in c_mask:
                    c_mask[n][chans] = 1
            if e.kind == "conv":
                w_mask[f"{e.module}.weight"][chans] = 1
    bn_of = bn_after(layout)
    for conv, chans in mask_filters.items():
        if not chans:
            continue
        bn = bn_of[conv]
        w_mask[f"{conv}.weight"][chans] = 1
        for n in (f"{conv}.weight", f"{bn}.weight", f"{bn}.bias"):
            c_mask[n][chans] = 1
    return obj.flatten(w_mask), obj.flatten(c_mask)


def removed_in_pre_numbering(pruner, removed: dict) -> tuple[dict, dict]:
    """The units a round just removed (``PruneReport.removed``: original indices), as
    ({channel space: channel indices in the pre-event model}, {masked conv: filter indices})."""
    spaces, masks = {}, {}
    for grp in pruner.groups:
        gone = removed.get(grp.name, [])
        if not gone:
            continue
        if grp.kind == "physical":
            alive_before = sorted(set(pruner.alive[grp.name]) | set(gone))
            spaces[grp.space] = [alive_before.index(c) for c in gone]
        else:
            masks[grp.conv] = list(gone)
    return spaces, masks


def probe(model: nn.Module, batch, temperature: float, *, hessian: bool, chunk: int | None = None,
          train_mode: bool = False, parts=None) -> dict:
    """L, ‖θ‖², θᵀg, ‖g‖² (and θᵀHg, with the flat θ, g, Hg kept for predictions when ``hessian``)
    on the probe batch, in eval mode (the model's modes are restored). Edition 2: ``chunk``
    evaluates the probe in chunks of that many images (eval mode: the same L and g up to rounding,
    cheaper on a CPU); ``train_mode`` adds ``loss_train_mode`` (BatchNorm on the whole probe's batch
    statistics); ``parts`` (a ``Parts``) is charged "probe" and "hvp" seconds."""
    from gftheory.objective import Objective
    from empirical.events_units import chunks, train_mode_loss
    parts = parts or Parts()
    with preserved_modes(model):
        model.eval()
        obj = Objective(model, chunks(batch, chunk) if chunk else [batch], temperature)
        with parts("probe"):
            theta = obj.theta()
            loss, g = obj.loss_and_grad(theta)
        out = {"loss": loss, "norm_sq": float(theta @ theta), "theta_dot_grad": float(theta @ g),
               "grad_norm_sq": float(g @ g)}
        hg = None
        if hessian:
            with parts("hvp"):
                hg = obj.hvp(g, theta)
            out["theta_dot_hvp"] = float(theta @ hg)
    if train_mode:
        with parts("probe"):
            out["loss_train_mode"] = train_mode_loss(model, batch, temperature)
    return {"values": out, "obj": obj, "theta": theta, "g": g, "hg": hg}


class Parts:
    """Seconds per part of the work (edition 2's cost accounting): ``with parts("recovery"): ...``
    adds the block's wall time to ``parts.seconds["recovery"]``; nested blocks are charged to the
    innermost part only."""
    NAMES = ("trajectory", "scoring", "scoring_train_mode", "probe", "hvp", "val", "recovery", "units",
             "prune", "other")

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._stack: list[list] = []

    def __call__(self, name: str):
        import contextlib

        @contextlib.contextmanager
        def block():
            t0 = time.perf_counter()
            self._stack.append([name, 0.0])
            try:
                yield
            finally:
                _, inner = self._stack.pop()
                dt = time.perf_counter() - t0
                self.seconds[name] = self.seconds.get(name, 0.0) + dt - inner
                if self._stack:
                    self._stack[-1][1] += dt
        return block()

    def snapshot(self) -> dict:
        return dict(self.seconds)

    def since(self, snap: dict, total: float | None = None) -> dict:
        """Seconds per part since ``snap``; with ``total``, the rest as ``other``."""
        d = {k: v - snap.get(k, 0.0) for k, v in self.seconds.items() if v - snap.get(k, 0.0) > 0}
        if total is not None:
            d["other"] = d.get("other", 0.0) + max(0.0, total - sum(d.values()))
        return d


def spearman_units(a: dict, b: dict) -> float:
    """Spearman ρ of two {group: per-unit scores} over every unit (group order of ``a``)."""
    import numpy as np
    from gftheory.spread import spearman
    return spearman(np.concatenate([np.asarray(a[k], float) for k in a]),
                    np.concatenate([np.asarray(b[k], float) for k in a]))


class EventStudy:
    def __init__(self, cfg: EventConfig, run_dir: Path, splits, device: torch.device, progress: bool = True):
        self.cfg, self.dir, self.data, self.device, self.progress = cfg, Path(run_dir), splits, device, progress
        self.tcfg = cfg.training_config()
        self.parts = Parts()
        self._chunk = cfg.probe_chunk if cfg.edition >= 2 else None   # edition 1: the probe in one batch

    def log(self, msg: str) -> None:
        if self.progress:
            print(f"[{self.dir.name}] {msg}", file=sys.stderr, flush=True)

    # -- data --------------------------------------------------------------------------
    def loader(self, x, y, *, train: bool, seed: int, batch_size: int | None = None):
        """The study's data pipeline on ``(x, y)``: its device and memory format, crop + flip when
        ``train``, seeded order (``empirical.runner``'s loader)."""
        from empirical.runner import _loader
        return _loader(x, y, batch_size=batch_size or self.cfg.batch_size, train=train, seed=seed,
                       device=self.device, channels_last=self.cfg.channels_last)

    def _fixed(self, x, y, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(y), generator=g)[:n]
        loader = self.loader(x[idx], y[idx], train=False, seed=0, batch_size=len(idx))
        xb, t = next(iter(loader))
        return xb.float(), t

    def importance_batches(self, e: int) -> list:
        cfg, y = self.cfg, self.data.train_y
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 7_919 * e)
        idx = torch.randperm(len(y), generator=g)[:cfg.importance_samples]
        loader = self.loader(self.data.train_x[idx], y[idx], train=True, seed=cfg.seed * 1_000_003 + e)
        loader.set_epoch(0)
        return [(x.float(), t) for x, t in loader]

    # -- models ------------------------------------------------------------------------
    def _place(self, model):
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.cfg.channels_last else model

    def build_model(self, widths=None):
        """The study's network (unpruned, or at ``widths``) on its device and memory format."""
        from empirical.architectures import build
        return self._place(build(self.cfg.arch, self.data.num_classes, widths))

    # -- 1. trajectory ----------------------------------------------------------------------
    def trajectory(self) -> None:
        from empirical.runner import rng_state, seed_everything, set_rng_state
        from empirical.train import make_optimizer, train_steps
        cfg, last = self.cfg, max(self.cfg.checkpoints)
        if all((self.dir / study_checkpoint(e)).exists() for e in cfg.checkpoints):
            return
        # epochs recorded by an earlier process whose checkpoints are gone (another machine: the
        # study's config.json and events.jsonl came back through the campaign's inflight/ folder)
        recorded = {r["epoch"]: r for r in runstore.read_events(self.dir) if r.get("kind") == "trajectory_epoch"}
        seed_everything(cfg.seed)
        model = self.build_model()
        opt = make_optimizer(model, cfg.lr, cfg.momentum, cfg.weight_decay)
        done = 0
        if (self.dir / TRAJECTORY).exists():
            ck = runstore.load_checkpoint(self.dir / TRAJECTORY)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            set_rng_state(ck["rng"])
            done = int(ck["epoch"])
        loader = self.loader(self.data.train_x, self.data.train_y, train=True, seed=cfg.seed)
        for epoch in range(done + 1, last + 1):
            t0 = time.perf_counter()
            loader.set_epoch(epoch)
            with self.parts("trajectory"):
                tot = train_steps(model, loader, opt, temperature=cfg.temperature, precision="fp32",
                                  device=self.device)
            weights = init_fingerprint(model)
            replay = recorded.get(epoch)
            if replay is not None:    # recomputed: it must be bit-identical to the recorded epoch
                check_replay(self.dir.name, replay, epoch, weights, finite(tot.loss),
                             checkpoint=epoch in cfg.checkpoints)
            if epoch in cfg.checkpoints:
                runstore.save_checkpoint(self.dir / study_checkpoint(epoch), {"epoch": epoch, "model": model.state_dict()})
            runstore.save_checkpoint(self.dir / TRAJECTORY, {"epoch": epoch, "model": model.state_dict(),
                                                            "optimizer": opt.state_dict(), "rng": rng_state()})
            if replay is None:
                runstore.append_event(self.dir, {"kind": "trajectory_epoch", "epoch": epoch,
                                                 "train_loss": finite(tot.loss), "train_acc": tot.acc,
                                                 "weights_sha256": weights, "seconds": time.perf_counter() - t0})
            else:                     # its cost is real compute: counted in the summary's seconds
                import platform
                runstore.append_event(self.dir, {"kind": "trajectory_replay", "epoch": epoch,
                                                 "weights_sha256": weights, "host": platform.node(),
                                                 "seconds": time.perf_counter() - t0})
            self.log(f"trajectory epoch {epoch}/{last}: loss {tot.loss:.4f} acc {tot.acc:.4f} "
                     f"{time.perf_counter() - t0:.0f}s")

    # -- 2./3. events ------------------------------------------------------------------------
    def _val_acc(self, model) -> float:
        from empirical.train import evaluate
        with self.parts("val"):
            tot = evaluate(model, self.val_loader, temperature=self.cfg.temperature, precision="fp32",
                           device=self.device)
        return tot.acc

    def _recover(self, model, e: int) -> dict:
        """``recovery_steps`` SGD steps at ``lr`` (fresh optimiser; the same batches for every
        measure), the probe loss at every step of ``recovery_eval`` (0 = right after the event)."""
        with self.parts("recovery"):
            return self._recover_steps(model, e)

    def _recover_steps(self, model, e: int) -> dict:
        from empirical.train import make_optimizer, train_steps
        cfg = self.cfg
        model = copy.deepcopy(model)
        opt = make_optimizer(model, cfg.lr, cfg.momentum, cfg.weight_decay)
        loader = self.loader(self.data.train_x, self.data.train_y, train=True, seed=cfg.seed * 31 + e)
        loader.set_epoch(0)
        it = iter(loader)
        steps, losses, train_losses, done = [0], [], [], 0
        with torch.no_grad(), preserved_modes(model):
            losses.append(self._probe_loss(model))
        for s in cfg.recovery_eval:
            tot = train_steps(model, it, opt, temperature=cfg.temperature, precision="fp32",
                              device=self.device, pruner=self._mask_pruner, steps=s - done)
            done = s
            steps.append(s)
            train_losses.append(finite(tot.loss))
            losses.append(self._probe_loss(model))
        return {"steps": steps, "probe_loss": losses, "train_loss": train_losses}

    def _probe_loss(self, model) -> float:
        import torch.nn.functional as F
        with torch.no_grad(), preserved_modes(model):
            model.eval()
            x, y = self.probe_batch
            return float(F.cross_entropy(model(x).float() / self.cfg.temperature, y))

    def checkpoint_events(self, e: int, done: set) -> None:
        from gftheory.importance import importance
        cfg, parts = self.cfg, self.parts
        ed2 = cfg.edition >= 2
        todo = [(m, ev) for m, ev in cfg.events_per_checkpoint() if (e, m, ev) not in done]
        if not todo:
            return
        snap, t_snap = parts.snapshot(), time.perf_counter()   # the setup is charged to the first event
        model = self.build_model()
        model.load_state_dict(runstore.load_checkpoint(self.dir / study_checkpoint(e))["model"])
        model.eval()
        self._mask_pruner = None
        t0 = time.perf_counter()
        before = probe(model, self.probe_batch, cfg.temperature, hessian=True, chunk=self._chunk,
                       train_mode=ed2, parts=parts)
        val_before = self._val_acc(model)
        probe_s = time.perf_counter() - t0
        batches = self.importance_batches(e)
        score_cache: dict[str, tuple[dict, float]] = {}

        def scores_of(m, mdl, key, mode="eval"):
            key = key if mode == "eval" else (*key, mode)
            if key not in score_cache:
                t = time.perf_counter()
                with parts("scoring" if mode == "eval" else "scoring_train_mode"), preserved_modes(mdl):
                    mdl.eval() if mode == "eval" else mdl.train()
                    s = importance(mdl, m, batches, unit="filter", temperature=cfg.importance_temperature(m),
                                   seed=cfg.seed * 1_000_003 + e)
                score_cache[key] = (s, time.perf_counter() - t)
            return score_cache[key]

        self._scores_of = scores_of
        for m, ev in todo:
            t_ev = time.perf_counter()
            rec = {"kind": "event", "checkpoint": e, "measure": m, "event": ev,
                   "before": before["values"], "val_acc_before": val_before, "probe_seconds_before": probe_s,
                   "probe_temperature": cfg.temperature, "probe_bn_mode": "eval", "probe_size": cfg.probe_size}
            if ev == "control":
                rec["recovery"] = self._recover(model, e)
            elif ev == "units":
                rec.update(self._unit_events(model, scores_of))
            elif ev.endswith("_layer_random"):
                rec.update(self._layer_random(m, ev[:-len("_layer_random")], model, before, scores_of, e))
            else:
                pre, pruned, pruner, report, score_s = self._prune(m, ev, model, scores_of)
                rec.update(self._measure_event(m, ev, pre, pruned, pruner, report, before, e))
                rec["score_seconds"] = score_s
                rec["importance_temperature"] = cfg.importance_temperature(m)
                rec["score_bn_mode"] = "eval"
                if ev.endswith("_quota"):
                    rec["quota_reference"] = cfg.quota_reference
                    rec["quota"] = {g: len(v) for g, v in report.removed.items() if v}
                if ed2 and ev == "round1":
                    rec.update(self._bn_score_agreement(m, model, pruner, scores_of))
            rec["seconds"] = time.perf_counter() - t_ev
            if ed2:
                rec["part_seconds"] = parts.since(snap, time.perf_counter() - t_snap)
                rec["edition"] = cfg.edition
            snap, t_snap = parts.snapshot(), time.perf_counter()
            runstore.append_event(self.dir, rec)
            self.log(f"checkpoint e{e} {m} {ev}: {rec['seconds']:.0f}s")

    # -- edition 2 -----------------------------------------------------------------------------
    def _fresh_pruner(self, model, ev: str):
        from empirical.pruning import StructuredPruner
        cfg = self.cfg
        if ev.startswith("profile"):
            return StructuredPruner(model, cfg.arch, target=cfg.profile_ratio, rounds=1,
                                    floor_fraction=cfg.floor_fraction)
        return StructuredPruner(model, cfg.arch, target=cfg.schedule_target, rounds=cfg.schedule_rounds,
                                floor_fraction=cfg.floor_fraction)

    def _quota_of(self, m: str, base: str, model, scores_of) -> dict:
        """{group: units} measure ``m``'s own (global) ``base`` event removes ("round1" / "profile")."""
        from empirical.pruning.quota import quota_of
        scores, _ = scores_of(m, model, (m, 0))
        with self.parts("prune"):
            _, rep = self._fresh_pruner(model, base).prune_round(model, scores, 1)
        return quota_of(rep)

    def _unit_events(self, model, scores_of) -> dict:
        from empirical.events_units import layout_digest, select_units, unit_events
        cfg = self.cfg
        pr = self._fresh_pruner(model, "round1")
        mag = pr.unit_scores(model, scores_of("magnitude", model, ("magnitude", 0))[0])
        lp = pr.unit_scores(model, scores_of("loss_preservation", model, ("loss_preservation", 0))[0])
        units = select_units(pr, mag, lp, min(cfg.units_per_checkpoint, pr.units_total))
        x, y = self.probe_batch
        n = min(cfg.unit_probe_size, cfg.probe_size)
        with self.parts("units"):
            res = unit_events(model, pr, units, (x[:n], y[:n]), cfg.temperature, chunk=self._chunk)
        return {"unit_probe_size": n, "layout_digest": layout_digest(pr), "units_before": res["before"],
                "units": res["units"], "n_units": len(units)}

    def _bn_score_agreement(self, m, model, pruner, scores_of) -> dict:
        """Spearman ρ of the measure's unit scores in eval and in train mode (data-dependent
        measures only: magnitude, random and synflow read no BatchNorm batch statistics)."""
        if not (set(MEASURES[m].needs) & {"grad", "hvp", "grad_sq"}):
            return {}
        s_eval, _ = scores_of(m, model, (m, 0))
        s_train, t = scores_of(m, model, (m, 0), mode="train")
        return {"score_rank_train_vs_eval": spearman_units(pruner.unit_scores(model, s_eval),
                                                           pruner.unit_scores(model, s_train)),
                "score_seconds_train_mode": t}

    def _layer_random(self, m: str, base: str, model, before, scores_of, e: int) -> dict:
        """``random_draws`` random removals inside each layer with measure ``m``'s per-layer counts
        at its ``base`` event; each draw measured like the event (first order, no Hessian after),
        the first ``random_recovery_draws`` with the recovery; the mean over draws."""
        import numpy as np
        from empirical.pruning.quota import prune_round_with_quota
        cfg = self.cfg
        quota = self._quota_of(m, base, model, scores_of)
        draws = []
        for d in range(cfg.random_draws):
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 7_919 * e + 101 * d + 17)
            scores = {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
                      for n, p in model.named_parameters() if p.dim() > 1}
            pr = self._fresh_pruner(model, base)
            with self.parts("prune"):
                pruned, rep = prune_round_with_quota(pr, model, scores, 1, quota)
            pruned = self._place(pruned)
            out = self._measure_event(m, base, model, pruned, pr, rep, before, e,
                                      recovery=d < cfg.random_recovery_draws, hessian_after=False,
                                      second_order=False)
            out["draw"] = d
            draws.append(out)

        def mean(get):
            xs = [get(r) for r in draws]
            xs = [x for x in xs if x is not None]
            return float(np.mean(xs)) if xs else None
        b = before["values"]
        summary = {"dloss": mean(lambda r: r["after"]["loss"] - b["loss"]),
                   "dgrad_norm_sq": mean(lambda r: r["after"]["grad_norm_sq"] - b["grad_norm_sq"]),
                   "after_loss": mean(lambda r: r["after"]["loss"]),
                   "after_grad_norm_sq": mean(lambda r: r["after"]["grad_norm_sq"]),
                   "val_acc_after": mean(lambda r: r["val_acc_after"]),
                   "pred_dloss_weights": mean(lambda r: r["pred"]["dloss_weights"]),
                   "pred_dgrad_norm_sq_weights": mean(lambda r: r["pred"]["dgrad_norm_sq_weights"])}
        rec = [r["recovery"] for r in draws if "recovery" in r]
        if rec:
            summary["recovery_probe_loss"] = [float(np.mean(col)) for col in zip(*(r["probe_loss"] for r in rec))]
            summary["recovery_steps"] = rec[0]["steps"]
            summary["recovery_draws"] = len(rec)
        return {"matched_measure": m, "matched_event": base, "quota": quota, "draws": draws,
                "n_draws": len(draws), "mean": summary}

    def _prune(self, m, ev, model, scores_of):
        """(model before the event, pruned model, pruner, PruneReport, scoring seconds)."""
        from empirical.pruning import StructuredPruner
        from empirical.pruning.quota import prune_round_with_quota
        cfg = self.cfg
        scores, score_s = scores_of(m, model, (m, 0))
        if ev.endswith("_quota"):             # edition 2: the reference measure's per-layer counts
            base = ev[:-len("_quota")]
            quota = self._quota_of(cfg.quota_reference, base, model, scores_of)
            pr = self._fresh_pruner(model, base)
            with self.parts("prune"):
                pruned, rep = prune_round_with_quota(pr, model, scores, 1, quota)
            return model, self._place(pruned), pr, rep, score_s
        if ev in ("small", "profile"):
            ratio = cfg.small_ratio if ev == "small" else cfg.profile_ratio
            pr = StructuredPruner(model, cfg.arch, target=ratio, rounds=1, floor_fraction=cfg.floor_fraction)
            with self.parts("prune"):
                pruned, rep = pr.prune_round(model, scores, 1)
            return model, self._place(pruned), pr, rep, score_s
        k = 1 if ev == "round1" else int(ev[len("round"):])
        pr = StructuredPruner(model, cfg.arch, target=cfg.schedule_target, rounds=cfg.schedule_rounds,
                              floor_fraction=cfg.floor_fraction)
        pre = model
        for j in range(1, k):        # the measure's own history: rounds 1..k−1, rescored each round
            with self.parts("prune"):
                pre, _ = pr.prune_round(pre, scores, j)
            pre = self._place(pre)
            scores, t = scores_of(m, pre, (m, j))
            score_s += t
        with self.parts("prune"):
            pruned, rep = pr.prune_round(pre, scores, k)
        return pre, self._place(pruned), pr, rep, score_s

    def _measure_event(self, m, ev, pre, pruned, pruner, report, before, e, *, recovery=None,
                       hessian_after=None, second_order=None) -> dict:
        """The event's record fields. Edition 1: exactly as before. Edition 2 also measures the
        75 % ``profile`` event (probe after, accuracy, recovery), records θ_SᵀHθ_S and the
        second-order prediction (``second_order``; default at every event but ``profile``), the
        train-mode probe loss; the quota arms are measured like the event they copy."""
        cfg = self.cfg
        ed2 = cfg.edition >= 2
        base = ev[:-len("_quota")] if ev.endswith("_quota") else ev
        rep = report.as_dict()
        out = {"units_removed": {g: len(v) for g, v in rep["removed"].items()},
               "n_units_removed": sum(len(v) for v in rep["removed"].values()),
               "channel_sparsity": rep["channel_sparsity"], "param_sparsity": rep["param_sparsity"],
               "flop_sparsity": rep["flop_sparsity"], "widths_before": rep["widths_before"],
               "widths_after": rep["widths_after"], "original_widths": dict(pruner.original_widths),
               "group_units": rep["group_units"], "units_total": rep["units_total"]}
        if ed2:                                   # which units (original indices per group)
            out["removed"] = {g: list(v) for g, v in rep["removed"].items() if v}
        if base == "profile" and not ed2:
            return out
        if recovery is None:
            recovery = base == "round1" or (ed2 and base == "profile")
        if hessian_after is None:
            hessian_after = base == "round1"
        if second_order is None:
            second_order = ed2 and base != "profile"
        if base.startswith("round") and base != "round1":   # the pre-pruned model is the "before"
            before = probe(pre, self.probe_batch, cfg.temperature, hessian=True, chunk=self._chunk,
                           train_mode=ed2, parts=self.parts)
            out["before"] = before["values"]
            out["val_acc_before"] = self._val_acc(pre)
        w_sel, c_sel = _flat_owned(before["obj"], pre, *removed_in_pre_numbering(pruner, rep["removed"]))
        th, g, hg = before["theta"], before["g"], before["hg"]
        out["pred"] = {"dloss_weights": float(-(w_sel * th) @ g), "dloss_channel": float(-(c_sel * th) @ g),
                       "dgrad_norm_sq_weights": float(-2 * (w_sel * th) @ hg),
                       "dgrad_norm_sq_channel": float(-2 * (c_sel * th) @ hg),
                       "removed_norm_sq_weights": float((w_sel * th) @ th),
                       "removed_norm_sq_channel": float((c_sel * th) @ th)}
        if second_order:
            from empirical.events_units import hvp_many
            with self.parts("hvp"):
                hw, hc = hvp_many(before["obj"], [w_sel * th, c_sel * th], th)
            q_w, q_c = float((w_sel * th) @ hw), float((c_sel * th) @ hc)
            out["pred"].update({
                "theta_hess_theta_weights": q_w, "theta_hess_theta_channel": q_c,
                "dloss_weights_second_order": out["pred"]["dloss_weights"] + 0.5 * q_w,
                "dloss_channel_second_order": out["pred"]["dloss_channel"] + 0.5 * q_c})
        self._mask_pruner = pruner if any(gr.kind == "mask" for gr in pruner.groups) else None
        after = probe(pruned, self.probe_batch, cfg.temperature, hessian=hessian_after, chunk=self._chunk,
                      train_mode=ed2, parts=self.parts)
        out["after"] = after["values"]
        out["val_acc_after"] = self._val_acc(pruned)
        if recovery:
            out["recovery"] = self._recover(pruned, e)
        self._mask_pruner = None
        return out

    # -- driver -----------------------------------------------------------------------------
    def execute(self) -> Path:
        cfg = self.cfg
        self.probe_batch = self._fixed(self.data.train_x, self.data.train_y, cfg.probe_size, cfg.seed * 7919 + 1)
        self.val_loader = self.loader(self.data.val_x[:cfg.val_size], self.data.val_y[:cfg.val_size],
                                       train=False, seed=0, batch_size=500)
        self.trajectory()
        records = runstore.read_events(self.dir)
        done = {(r["checkpoint"], r["measure"], r["event"]) for r in records if r.get("kind") == "event"}
        for e in cfg.checkpoints:
            self.checkpoint_events(e, done)
        records = runstore.read_events(self.dir)
        from gftheory.provenance import provenance
        events = [r for r in records if r.get("kind") == "event"]
        extra = {}
        if cfg.edition >= 2:          # the plan costs edition 2 from these (seconds per part)
            per_ck: dict = {}
            for r in events:
                d = per_ck.setdefault(str(r["checkpoint"]), {})
                for k, v in r.get("part_seconds", {}).items():
                    d[k] = d.get(k, 0.0) + v
            traj = sum(r.get("seconds", 0) for r in records if r.get("kind") == "trajectory_epoch")
            extra = {"edition": cfg.edition, "part_seconds_per_checkpoint": per_ck,
                     "part_seconds": {k: sum(d.get(k, 0.0) for d in per_ck.values())
                                      for k in sorted({k for d in per_ck.values() for k in d})},
                     "trajectory_seconds": traj,
                     "event_seconds_per_checkpoint": {c: sum(d.values()) for c, d in per_ck.items()}}
        runstore.write_summary(self.dir, {
            "run_id": self.dir.name, "kind": EVENT_STUDY, "config": cfg.canonical(), "complete": True,
            **extra,
            "events": len(events), "seconds": sum(r.get("seconds", 0) for r in records),
            "eval_data": self.data.eval_data, "provenance": provenance(self.device)})
        self.log(f"complete: {len(events)} events")
        return self.dir


class ReplayMismatch(ConfigError):
    """A study's trajectory, recomputed on resume, differs from the one its events were measured on."""


def check_replay(study: str, recorded: dict, epoch: int, weights: str, train_loss, *, checkpoint: bool) -> None:
    """A recomputed trajectory epoch continues a study only when it is the recorded one: the same
    training loss, and the weights' sha256 (``empirical.fingerprint.init_fingerprint`` of the model
    after the epoch) equal to the recorded ``weights_sha256`` where one is recorded. At a
    ``checkpoint`` epoch (the networks the events are measured on) the digest is required: a record
    without it cannot be checked and is refused; events measured on one network are never continued
    on another."""
    want = recorded.get("weights_sha256")
    if want is None and checkpoint:
        raise ReplayMismatch(
            f"study {study}: its checkpoints are gone and trajectory epoch {epoch} was recorded without a "
            "weights digest, so a recomputed trajectory cannot be proven identical to the one its events "
            f"were measured on; fix: delete the study folder (its events) and run it again from the start")
    if want not in (None, weights) or recorded.get("train_loss") != train_loss:
        raise ReplayMismatch(
            f"study {study}: trajectory epoch {epoch} recomputed here gives weights {weights} and train loss "
            f"{train_loss}, the recorded epoch {want} and {recorded.get('train_loss')} (another CPU or "
            "library build); the events already recorded cannot be continued on this network; fix: delete "
            "the study folder (its events) and run it again from the start on this machine")


def config_to_argv(cfg: EventConfig) -> list[str]:
    """Flags of ``gftheory events`` that rebuild exactly ``cfg`` (every field given;
    ``empirical.commands.events.configs_from_args`` reads them back)."""
    argv = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        flag = "--" + f.name.replace("_", "-")
        if v is None:
            continue                      # only max_train_samples may be None, and None is its default
        if isinstance(v, bool):
            argv.append(flag if v else "--no-" + f.name.replace("_", "-"))
        elif isinstance(v, tuple):
            argv += [flag, ",".join(repr(x) if isinstance(x, float) else str(x) for x in v)]
        else:
            argv += [flag, repr(v) if isinstance(v, float) else str(v)]
    return argv


STUDY_CPU_THREADS = 1   # torch threads an event study sets for itself on a CPU (recorded in its provenance)


def ensure_study(cfg: EventConfig, root, *, device="cpu", data_dir=None, progress: bool = True) -> Path:
    """Run (or resume, or skip when complete) the event study ``cfg`` under ``root``. On a CPU the
    study fixes torch's thread count to ``STUDY_CPU_THREADS`` for itself (restored afterwards) and
    records it, so the same study id gives the same numbers whichever process or backend runs it
    (``empirical.runner.fix_threads``); several studies share the cores as separate processes
    (``empirical.sweep.run_studies``)."""
    from empirical.runner import resolve_device
    dev = resolve_device(device)
    run_dir = Path(root) / cfg.run_id()
    if runstore.is_complete(run_dir):
        if progress:
            print(f"[{run_dir.name}] complete; skipped", file=sys.stderr, flush=True)
        return run_dir
    if dev.type != "cpu":
        return _ensure_study(cfg, run_dir, dev, data_dir, progress)
    from empirical.runner import fix_threads
    previous = (torch.get_num_threads(), torch.get_num_interop_threads())
    fix_threads(STUDY_CPU_THREADS)
    try:
        return _ensure_study(cfg, run_dir, dev, data_dir, progress)
    finally:
        torch.set_num_threads(previous[0])


def _ensure_study(cfg: EventConfig, run_dir: Path, dev, data_dir, progress: bool) -> Path:
    from empirical.runner import arrays_digest, prepare_data
    from gftheory.provenance import provenance
    splits = prepare_data(cfg.training_config(), data_dir)
    if splits.val_x is None or len(splits.val_y) < cfg.val_size:
        raise ConfigError(f"val_size {cfg.val_size} needs a held-out split at least that large; fix: "
                          "raise --holdout-size or lower --val-size")
    with runstore.exclusive(run_dir):  # one writer per study; RunBusy when another process has it
        if runstore.is_complete(run_dir):
            return run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        if runstore.has_config(run_dir):    # a resumed study: its events were measured on these arrays
            stored = (runstore.read_config(run_dir).get("data") or {}).get("arrays_sha256")
            if stored is not None and stored != arrays_digest(splits):
                raise ConfigError(f"study {run_dir.name} was started on data arrays {stored[:16]}…, these are "
                                  f"{arrays_digest(splits)[:16]}…; fix: point --data-dir at the same CIFAR "
                                  "files, or delete the study folder to start it again on these")
        else:
            runstore.write_config(run_dir, {
                "run_id": run_dir.name, "kind": EVENT_STUDY, "config": cfg.canonical(),
                "data": {"source": splits.source, "arrays_sha256": arrays_digest(splits),
                         "train": len(splits.train_y), "val": len(splits.val_y), "eval_data": splits.eval_data},
                "provenance": {**provenance(dev), **_thread_record(dev)}})
        return EventStudy(cfg, run_dir, splits, dev, progress).execute()


def _thread_record(dev) -> dict:
    """The thread counts the study computes with (provenance)."""
    return {"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "cpu_threads_fixed_by_run": STUDY_CPU_THREADS if dev.type == "cpu" else None}
