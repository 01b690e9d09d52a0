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
from gftheory import runstore
from gftheory.measures import MEASURES
from gftheory.runstore import EVENT_STUDY, TRAJECTORY, study_checkpoint
from gftheory.state import preserved_modes

# every measure registered when this module is imported (the built-ins, in registry order)
ALL_MEASURES = tuple(MEASURES)


@dataclass(frozen=True)
class EventConfig:
    """One event study (see module docstring); every field is a ``gftheory events`` flag."""
    arch: str = "resnet56"
    dataset: str = "cifar10"
    seed: int = 0
    checkpoints: tuple = (1, 3)          # data epochs of dense training before the events
    measures: tuple = ALL_MEASURES
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

    def __post_init__(self):
        for name in ("checkpoints", "measures", "later_rounds", "recovery_eval"):
            v = getattr(self, name)
            if isinstance(v, str):
                v = [x for x in v.replace(" ", "").split(",") if x]
            kind = str if name == "measures" else int
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
        if self.recovery_steps < 0 or self.seed < 0:
            bad("recovery_steps/seed", "negative", "give non-negative integers")

    # -- identity, as RunConfig ---------------------------------------------------------
    def canonical(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("checkpoints", "measures", "later_rounds", "recovery_eval"):
            d[k] = list(d[k])
        return {"kind": EVENT_STUDY, **dict(sorted(d.items()))}

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
        """[(measure, event)] in execution order (the dense control first)."""
        out = [("none", "control")]
        for m in self.measures:
            out += [(m, "round1"), (m, "small")] + [(m, f"round{k}") for k in self.later_rounds] + [(m, "profile")]
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


def probe(model: nn.Module, batch, temperature: float, *, hessian: bool) -> dict:
    """L, ‖θ‖², θᵀg, ‖g‖² (and θᵀHg, with the flat θ, g, Hg kept for predictions when ``hessian``)
    on the probe batch, in eval mode (the model's modes are restored)."""
    from gftheory.objective import Objective
    with preserved_modes(model):
        model.eval()
        obj = Objective(model, [batch], temperature)
        theta = obj.theta()
        loss, g = obj.loss_and_grad(theta)
        out = {"loss": loss, "norm_sq": float(theta @ theta), "theta_dot_grad": float(theta @ g),
               "grad_norm_sq": float(g @ g)}
        hg = None
        if hessian:
            hg = obj.hvp(g, theta)
            out["theta_dot_hvp"] = float(theta @ hg)
    return {"values": out, "obj": obj, "theta": theta, "g": g, "hg": hg}


class EventStudy:
    def __init__(self, cfg: EventConfig, run_dir: Path, splits, device: torch.device, progress: bool = True):
        self.cfg, self.dir, self.data, self.device, self.progress = cfg, Path(run_dir), splits, device, progress
        self.tcfg = cfg.training_config()

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
            tot = train_steps(model, loader, opt, temperature=cfg.temperature, precision="fp32",
                              device=self.device)
            if epoch in cfg.checkpoints:
                runstore.save_checkpoint(self.dir / study_checkpoint(epoch), {"epoch": epoch, "model": model.state_dict()})
            runstore.save_checkpoint(self.dir / TRAJECTORY, {"epoch": epoch, "model": model.state_dict(),
                                                            "optimizer": opt.state_dict(), "rng": rng_state()})
            runstore.append_event(self.dir, {"kind": "trajectory_epoch", "epoch": epoch,
                                             "train_loss": finite(tot.loss), "train_acc": tot.acc,
                                             "seconds": time.perf_counter() - t0})
            self.log(f"trajectory epoch {epoch}/{last}: loss {tot.loss:.4f} acc {tot.acc:.4f} "
                     f"{time.perf_counter() - t0:.0f}s")

    # -- 2./3. events ------------------------------------------------------------------------
    def _val_acc(self, model) -> float:
        from empirical.train import evaluate
        tot = evaluate(model, self.val_loader, temperature=self.cfg.temperature, precision="fp32",
                       device=self.device)
        return tot.acc

    def _recover(self, model, e: int) -> dict:
        """``recovery_steps`` SGD steps at ``lr`` (fresh optimiser; the same batches for every
        measure), the probe loss at every step of ``recovery_eval`` (0 = right after the event)."""
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
        cfg = self.cfg
        todo = [(m, ev) for m, ev in cfg.events_per_checkpoint() if (e, m, ev) not in done]
        if not todo:
            return
        model = self.build_model()
        model.load_state_dict(runstore.load_checkpoint(self.dir / study_checkpoint(e))["model"])
        model.eval()
        self._mask_pruner = None
        t0 = time.perf_counter()
        before = probe(model, self.probe_batch, cfg.temperature, hessian=True)
        val_before = self._val_acc(model)
        probe_s = time.perf_counter() - t0
        batches = self.importance_batches(e)
        score_cache: dict[str, tuple[dict, float]] = {}

        def scores_of(m, mdl, key):
            if key not in score_cache:
                t = time.perf_counter()
                with preserved_modes(mdl):
                    mdl.eval()
                    s = importance(mdl, m, batches, unit="filter", temperature=cfg.importance_temperature(m),
                                   seed=cfg.seed * 1_000_003 + e)
                score_cache[key] = (s, time.perf_counter() - t)
            return score_cache[key]

        for m, ev in todo:
            t_ev = time.perf_counter()
            rec = {"kind": "event", "checkpoint": e, "measure": m, "event": ev,
                   "before": before["values"], "val_acc_before": val_before, "probe_seconds_before": probe_s,
                   "probe_temperature": cfg.temperature, "probe_bn_mode": "eval", "probe_size": cfg.probe_size}
            if ev == "control":
                rec["recovery"] = self._recover(model, e)
            else:
                pre, pruned, pruner, report, score_s = self._prune(m, ev, model, scores_of)
                rec.update(self._measure_event(m, ev, pre, pruned, pruner, report, before, e))
                rec["score_seconds"] = score_s
                rec["importance_temperature"] = cfg.importance_temperature(m)
                rec["score_bn_mode"] = "eval"
            rec["seconds"] = time.perf_counter() - t_ev
            runstore.append_event(self.dir, rec)
            self.log(f"checkpoint e{e} {m} {ev}: {rec['seconds']:.0f}s")

    def _prune(self, m, ev, model, scores_of):
        """(model before the event, pruned model, pruner, PruneReport, scoring seconds)."""
        from empirical.pruning import StructuredPruner
        cfg = self.cfg
        scores, score_s = scores_of(m, model, (m, 0))
        if ev in ("small", "profile"):
            ratio = cfg.small_ratio if ev == "small" else cfg.profile_ratio
            pr = StructuredPruner(model, cfg.arch, target=ratio, rounds=1, floor_fraction=cfg.floor_fraction)
            pruned, rep = pr.prune_round(model, scores, 1)
            return model, self._place(pruned), pr, rep, score_s
        k = 1 if ev == "round1" else int(ev[len("round"):])
        pr = StructuredPruner(model, cfg.arch, target=cfg.schedule_target, rounds=cfg.schedule_rounds,
                              floor_fraction=cfg.floor_fraction)
        pre = model
        for j in range(1, k):        # the measure's own history: rounds 1..k−1, rescored each round
            pre, _ = pr.prune_round(pre, scores, j)
            pre = self._place(pre)
            scores, t = scores_of(m, pre, (m, j))
            score_s += t
        pruned, rep = pr.prune_round(pre, scores, k)
        return pre, self._place(pruned), pr, rep, score_s

    def _measure_event(self, m, ev, pre, pruned, pruner, report, before, e) -> dict:
        cfg = self.cfg
        rep = report.as_dict()
        out = {"units_removed": {g: len(v) for g, v in rep["removed"].items()},
               "n_units_removed": sum(len(v) for v in rep["removed"].values()),
               "channel_sparsity": rep["channel_sparsity"], "param_sparsity": rep["param_sparsity"],
               "flop_sparsity": rep["flop_sparsity"], "widths_before": rep["widths_before"],
               "widths_after": rep["widths_after"], "original_widths": dict(pruner.original_widths),
               "group_units": rep["group_units"], "units_total": rep["units_total"]}
        if ev == "profile":
            return out
        if ev.startswith("round") and ev != "round1":   # the pre-pruned model is the "before"
            before = probe(pre, self.probe_batch, cfg.temperature, hessian=True)
            out["before"] = before["values"]
            out["val_acc_before"] = self._val_acc(pre)
        w_sel, c_sel = _flat_owned(before["obj"], pre, *removed_in_pre_numbering(pruner, rep["removed"]))
        th, g, hg = before["theta"], before["g"], before["hg"]
        out["pred"] = {"dloss_weights": float(-(w_sel * th) @ g), "dloss_channel": float(-(c_sel * th) @ g),
                       "dgrad_norm_sq_weights": float(-2 * (w_sel * th) @ hg),
                       "dgrad_norm_sq_channel": float(-2 * (c_sel * th) @ hg),
                       "removed_norm_sq_weights": float((w_sel * th) @ th),
                       "removed_norm_sq_channel": float((c_sel * th) @ th)}
        self._mask_pruner = pruner if any(gr.kind == "mask" for gr in pruner.groups) else None
        after = probe(pruned, self.probe_batch, cfg.temperature, hessian=(ev == "round1"))
        out["after"] = after["values"]
        out["val_acc_after"] = self._val_acc(pruned)
        if ev == "round1":
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
        runstore.write_summary(self.dir, {
            "run_id": self.dir.name, "kind": EVENT_STUDY, "config": cfg.canonical(), "complete": True,
            "events": len(events), "seconds": sum(r.get("seconds", 0) for r in records),
            "eval_data": self.data.eval_data, "provenance": provenance(self.device)})
        self.log(f"complete: {len(events)} events")
        return self.dir


def ensure_study(cfg: EventConfig, root, *, device="cpu", data_dir=None, progress: bool = True) -> Path:
    """Run (or resume, or skip when complete) the event study ``cfg`` under ``root``."""
    from empirical.runner import arrays_digest, prepare_data, resolve_device
    from gftheory.provenance import provenance
    dev = resolve_device(device)
    run_dir = Path(root) / cfg.run_id()
    if runstore.is_complete(run_dir):
        if progress:
            print(f"[{run_dir.name}] complete; skipped", file=sys.stderr, flush=True)
        return run_dir
    splits = prepare_data(cfg.training_config(), data_dir)
    if splits.val_x is None or len(splits.val_y) < cfg.val_size:
        raise ConfigError(f"val_size {cfg.val_size} needs a held-out split at least that large; fix: "
                          "raise --holdout-size or lower --val-size")
    with runstore.exclusive(run_dir):  # one writer per study; RunBusy when another process has it
        if runstore.is_complete(run_dir):
            return run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        if not runstore.has_config(run_dir):
            runstore.write_config(run_dir, {
                "run_id": run_dir.name, "kind": EVENT_STUDY, "config": cfg.canonical(),
                "data": {"source": splits.source, "arrays_sha256": arrays_digest(splits),
                         "train": len(splits.train_y), "val": len(splits.val_y), "eval_data": splits.eval_data},
                "provenance": provenance(dev)})
        return EventStudy(cfg, run_dir, splits, dev, progress).execute()
