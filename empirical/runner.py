"""``ensure_run``: execute one prune-while-training run in its store directory — or resume it
from its last checkpoint, or skip it when it already completed.

Schedule (see empirical.config): records 1..n are the pruning rounds (train
round(epochs_per_round · batches per epoch) SGD steps, then: probe → score → prune → probe,
fresh optimiser), records n+1.. are whole training epochs at the post-pruning learning rates.
After every record: evaluate on the validation split (and the official test set when present),
append the "epoch" record to metrics.jsonl, write checkpoint.pt. After the last: summary.json.

Importance batches (round k): ``importance_samples`` training images — uniformly drawn, or
class-balanced (floor(importance_samples / num_classes) per class) for measures that need Hg when
``class_balanced_hg`` — seeded by (seed, k), with the training augmentation (crop + flip, as the
authors' augmented loader) applied by the device pipeline; scored in eval mode at the importance
temperature via gftheory.importance(..., unit="filter").

Stage 2 (docs/protocol.md, "The stage-2 cpu protocol (cpu2)"):
- threads: a CPU run sets torch's intra-op (and, where torch still allows it, inter-op) thread
  count to ``cpu_threads`` before it loads anything, records it in config.json's provenance and
  restores the caller's count when it ends — the same run id gives the same numbers whatever
  OMP_NUM_THREADS or torch.set_num_threads the launching process had;
- validation: with ``round_val_size`` the pruning records (all but a last record) validate on a
  fixed subset of the held-out images (a permutation with seed ``VAL_SUBSET_SEED``, the same for
  every run seed and measure); the other records on all of them; every epoch record names its
  set (``val_set`` "subset" | "full", ``val_n``); ``best`` is chosen among full-set records only;
- every prune event also records the probe loss with BatchNorm in train mode
  (``before_train_mode_loss`` / ``after_train_mode_loss``: batch statistics, running statistics
  restored, nothing else changed) and, at rounds ``AGREEMENT_ROUNDS``, the Spearman ρ between the
  measure's eval-mode and train-mode unit scores on the same importance batches
  (``score_rank_agreement_train_eval``; null with ``score_rank_agreement_note`` elsewhere and for
  data-free measures). Both are descriptive: BN buffers and every RNG are restored, so the run's
  numbers are those it would have without them;
- ``quota_from``: a layer-matched arm takes each round's per-layer removal counts from the
  complete run of ``config.quota_source`` in the same root (checked before any data loads) and
  ranks its own scores within each layer only (empirical.pruning.quota).
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from empirical.config import ConfigError, RunConfig, finite
from empirical.probe import probe_quantities
from empirical.train import (effective_precision, evaluate, make_optimizer, set_lr, train_steps)
from gftheory import runstore
from gftheory.importance import importance
from gftheory.measures import MEASURES
from gftheory.provenance import provenance
from gftheory.state import bn_mode, preserved_modes

EVAL_BATCH = 500
COMPILE_BACKEND = "inductor"  # torch.compile backend of --compile (tests use "eager")
HOLDOUT_SEED = 0  # the validation split is the same for every run seed (paired comparisons)
VAL_SUBSET_SEED = 0  # the per-round validation subset: one permutation of the held-out split, for every run
AGREEMENT_ROUNDS = (1, 5, 25)  # rounds at which the train/eval rank agreement is computed (its cost:
                               # one more scoring pass; docs/protocol.md, "The stage-2 cpu protocol")


def resolve_device(device=None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"device {device!r} is not a torch device ({exc}); fix: use cpu, cuda or "
                          "cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; fix: use --device cpu")
    return dev


def effective_config(config: RunConfig, device) -> RunConfig:
    """The config with ``precision`` resolved for ``device`` (this is what the run id hashes)."""
    return config.replace(precision=effective_precision(config.precision, device))


def check_root(root) -> Path:
    """The run store directory ``root``, checked before any data is loaded or anything written:
    every existing component of the path must be a directory, and the deepest existing one must
    accept a new file (probed with an anonymous temporary file, which works for root too).
    Raises ConfigError (exit 2) naming the problem and the fix; creates nothing."""
    import tempfile
    root = Path(root).expanduser()
    probe = root
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "is not a directory" if probe == root else f"lies under {probe}, which is not a directory"
        raise ConfigError(f"--root {root} {what}; fix: give --root a directory (or a path to create) "
                          f"outside any regular file")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ConfigError(f"--root {root}: cannot write in {probe} ({exc.strerror or exc}); fix: give "
                          f"--root a writable directory") from None
    return root


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    st = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict) -> None:
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


# -- data ---------------------------------------------------------------------------------
@dataclass
class Splits:
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor | None
    val_y: torch.Tensor | None
    test_x: torch.Tensor | None
    test_y: torch.Tensor | None
    num_classes: int
    source: str
    eval_data: str
    integrity: dict | None = None  # empirical.data.data_integrity: md5s, array sha256, status


def prepare_data(config: RunConfig, data_dir=None) -> Splits:
    """Train / validation / test tensors (uint8, CPU) as the config asks. Raises DataError /
    ConfigError before anything is written."""
    from empirical.data import holdout_split, load_cifar
    data = load_cifar(config.dataset, data_dir)
    has_test = data.test_images is not None
    split = config.eval_split
    if split == "auto":
        split = "test" if has_test else "holdout"
    if split == "test" and not has_test:
        raise ConfigError(f"eval_split 'test' but {data.source} has no official test set; fix: "
                          "download it (gftheory data download) or use --eval-split holdout/auto")
    if split == "holdout" and config.holdout_size < 1:
        raise ConfigError("no official test set and --holdout-size 0 leaves nothing to evaluate on; "
                          "fix: give --holdout-size ≥ 1")
    x, y = data.train_images, data.train_labels
    if config.holdout_size > 0:
        tr, va = holdout_split(y, config.holdout_size, seed=HOLDOUT_SEED)
        val_x, val_y = x[va], y[va]
    else:
        tr, va, val_x, val_y = torch.arange(len(y)), None, None, None
    if config.max_train_samples is not None and config.max_train_samples < len(tr):
        g = torch.Generator().manual_seed(HOLDOUT_SEED)
        tr = torch.sort(tr[torch.randperm(len(tr), generator=g)[:config.max_train_samples]]).values
    test_x = test_y = None
    if split == "test":
        test_x, test_y = data.test_images, data.test_labels
        if config.max_test_samples is not None:
            test_x, test_y = test_x[:config.max_test_samples], test_y[:config.max_test_samples]
        eval_data = "official test set" + (f" (first {len(test_y)} images)"
                                           if len(test_y) < len(data.test_labels) else "")
    else:
        eval_data = (f"held-out {config.holdout_size} of the training set (seed {HOLDOUT_SEED}) "
                     "in place of the test set")
    if len(tr) < 1:
        raise ConfigError("the training split is empty; fix: lower --holdout-size")
    from empirical.data import DEMO_LABEL, SYNTHETIC_DEMO
    if (data.integrity or {}).get("status") == SYNTHETIC_DEMO:
        eval_data = f"{DEMO_LABEL}: {eval_data}"     # starts with "synthetic": never counted as evidence
    return Splits(x[tr].contiguous(), y[tr].contiguous(), val_x, val_y, test_x, test_y,
                  data.num_classes, data.source, eval_data, data.integrity)


def arrays_digest(splits: Splits) -> str:
    """sha256 over the uint8 images and int labels this run actually trains and evaluates on
    (train, then validation, then test; shapes included), so two runs on the same data agree."""
    import hashlib
    h = hashlib.sha256()
    for t in (splits.train_x, splits.train_y, splits.val_x, splits.val_y, splits.test_x, splits.test_y):
        if t is None:
            h.update(b"none")
            continue
        a = t.contiguous().numpy()
        h.update(repr((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def val_subset_indices(n_val: int, size: int) -> torch.Tensor:
    """The fixed per-round validation subset: ``size`` of the ``n_val`` held-out positions (a
    permutation seeded by VAL_SUBSET_SEED, independent of the run seed), sorted."""
    g = torch.Generator().manual_seed(VAL_SUBSET_SEED)
    return torch.sort(torch.randperm(n_val, generator=g)[:size]).values


def _loader(images, labels, *, batch_size, train, seed, device, channels_last):
    from empirical.pipeline import PAPER_MEAN, PAPER_STD, DeviceLoader
    return DeviceLoader(images, labels, batch_size=batch_size, train=train, seed=seed, device=device,
                        mean=PAPER_MEAN, std=PAPER_STD, channels_last=channels_last)


# -- the run --------------------------------------------------------------------------------
class Run:
    """One run's state machine (see module docstring)."""

    def __init__(self, config: RunConfig, run_dir: Path, splits: Splits, device: torch.device,
                 progress: bool = True, quota: dict | None = None):
        self.cfg, self.dir, self.data, self.device, self.progress = config, Path(run_dir), splits, device, progress
        self.quota = quota  # {round: {group: count}} of a layer-matched arm (load_quota), else None
        self.channels_last = bool(config.channels_last)
        self.records = config.records()
        self.measure = None if config.dense else MEASURES.resolve(config.measure)
        self._eval_loaders: dict = {}

    # ---- helpers
    def log(self, msg: str) -> None:
        if self.progress:
            print(f"[{self.dir.name}] {msg}", file=sys.stderr, flush=True)

    def _build_model(self, widths=None):
        from empirical.architectures import build
        model = build(self.cfg.arch, self.data.num_classes, widths=widths)
        return self._place(model)

    def _place(self, model):
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    def _new_pruner(self, model):
        from empirical.pruning import StructuredPruner
        return StructuredPruner(model, self.cfg.arch, target=self.cfg.target, rounds=self.cfg.rounds,
                                floor_fraction=self.cfg.floor_fraction,
                                coupled_residual=self.cfg.coupled_residual)

    def _optimizer(self, lr):
        return make_optimizer(self.model, lr, self.cfg.momentum, self.cfg.weight_decay)

    def _step_fn(self):
        """The compiled training forward (``--compile``), rebuilt after every pruning round: the
        widths change, so each round recompiles (on CPU with inductor ≈ 1–3 min per compile for a
        smoke VGG-13 on 2 loaded cores). Dynamo's caches are reset first, so the 25 rounds of a
        full run never reach its recompile limit and silently fall back to eager."""
        if not self.cfg.compile:
            return None
        torch._dynamo.reset()
        return torch.compile(self.model, backend=COMPILE_BACKEND)

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def importance_batches(self, k: int) -> list:
        """Round k's importance sample (see module docstring)."""
        cfg, y = self.cfg, self.data.train_y
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + k)
        if cfg.class_balanced_hg and "hvp" in self.measure.needs:
            per = max(1, cfg.importance_samples // self.data.num_classes)
            idx = []
            for c in range(self.data.num_classes):
                ic = torch.nonzero(y == c).reshape(-1)
                idx.append(ic[torch.randperm(len(ic), generator=g)[:per]])
            idx = torch.cat(idx)
        else:
            idx = torch.randperm(len(y), generator=g)[:cfg.importance_samples]
        loader = _loader(self.data.train_x[idx], y[idx], batch_size=cfg.batch_size, train=True,
                         seed=cfg.seed * 1_000_003 + k, device=self.device, channels_last=self.channels_last)
        loader.set_epoch(0)
        return [(x.float(), t) for x, t in loader]

    def probe_batch(self):
        cfg = self.cfg
        g = torch.Generator().manual_seed(cfg.seed * 7919 + 1)
        idx = torch.randperm(len(self.data.train_y), generator=g)[:cfg.probe_size]
        loader = _loader(self.data.train_x[idx], self.data.train_y[idx], batch_size=len(idx), train=False,
                         seed=0, device=self.device, channels_last=self.channels_last)
        x, t = next(iter(loader))
        return x.float(), t

    def _eval(self, split: str):
        """(loss, acc) on ``split``: "val" (all held-out images), "val_subset" (the fixed
        per-round subset) or "test"; (None, None) where the split does not exist."""
        sub = split == "val_subset"
        x, y = getattr(self.data, "val_x" if sub else f"{split}_x"), getattr(self.data, "val_y" if sub else f"{split}_y")
        if x is None:
            return None, None
        if sub:
            idx = val_subset_indices(len(y), self.cfg.round_val_size)
            x, y = x[idx], y[idx]
        if split not in self._eval_loaders:
            self._eval_loaders[split] = _loader(x, y, batch_size=EVAL_BATCH, train=False, seed=0,
                                                device=self.device, channels_last=self.channels_last)
        loader = self._eval_loaders[split]
        tot = evaluate(self.model, loader, temperature=self.cfg.temperature, precision=self.cfg.precision,
                       device=self.device)
        return finite(tot.loss), tot.acc

    # ---- checkpoint
    def save(self, epoch: int, elapsed: float) -> None:
        from empirical.architectures import widths_of
        runstore.save_checkpoint(self.dir / runstore.CHECKPOINT, {
            "run_id": self.dir.name, "epoch": epoch, "loader_epoch": epoch,
            "widths": widths_of(self.model), "model": self.model.state_dict(),
            "pruner": self.pruner.state_dict(), "optimizer": self.optimizer.state_dict(),
            "rng": rng_state(), "elapsed": elapsed})

    def restore(self) -> tuple[int, float]:
        path = self.dir / runstore.CHECKPOINT
        if not path.exists():
            return 0, 0.0
        ck = runstore.load_checkpoint(path)
        if ck.get("run_id") != self.dir.name:
            raise ConfigError(f"{path} belongs to run {ck.get('run_id')}, not {self.dir.name}; fix: "
                              "delete the stray checkpoint")
        self.model = self._build_model(ck["widths"])
        self.model.load_state_dict(ck["model"])
        self.pruner.load_state_dict(ck["pruner"])
        epoch = int(ck["epoch"])
        phase, _, lr = self.records[epoch - 1]
        self.optimizer = self._optimizer(lr)
        self.optimizer.load_state_dict(ck["optimizer"])
        set_rng_state(ck["rng"])
        return epoch, float(ck.get("elapsed", 0.0))

    # ---- main loop
    def execute(self) -> Path:
        cfg = self.cfg
        if cfg.device_independent:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        seed_everything(cfg.seed)
        self.model = self._build_model()
        self._init_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.pruner = self._new_pruner(self.model)
        self.optimizer = self._optimizer(cfg.round_lr)
        done, elapsed = self.restore()
        kept = runstore.truncate_metrics(self.dir, done)
        if done:
            self.log(f"resuming after record {done}/{len(self.records)}")
        self.best = _best_of(kept)
        self.train_loader = _loader(self.data.train_x, self.data.train_y, batch_size=cfg.batch_size,
                                    train=True, seed=cfg.seed, device=self.device,
                                    channels_last=self.channels_last)
        self.round_steps = max(1, int(round(cfg.epochs_per_round * len(self.train_loader))))
        self.probe = None if cfg.dense else self.probe_batch()
        self.fingerprint = self._fingerprint()
        step_fn = self._step_fn()
        for epoch in range(done + 1, len(self.records) + 1):
            phase, k, lr = self.records[epoch - 1]
            t0 = time.perf_counter()
            self.train_loader.set_epoch(epoch)
            set_lr(self.optimizer, lr)
            steps = self.round_steps if phase == "prune" else None
            tot = train_steps(self.model, self.train_loader, self.optimizer, temperature=cfg.temperature,
                              precision=cfg.precision, device=self.device, pruner=self.pruner,
                              steps=steps, step_fn=step_fn)
            event = None
            if phase == "prune" and not cfg.dense:
                event = self.prune(k, epoch)
                self.optimizer = self._optimizer(lr)  # fresh optimiser after every round
                step_fn = self._step_fn()
            subset = (self.cfg.round_val_size is not None and phase == "prune"
                      and epoch < len(self.records) and self.data.val_y is not None)
            val_loss, val_acc = self._eval("val_subset" if subset else "val")
            test_loss, test_acc = self._eval("test")
            self._sync()
            seconds = time.perf_counter() - t0
            rec = {"kind": "epoch", "epoch": epoch, "phase": phase, "lr": float(lr),
                   "train_loss": finite(tot.loss), "train_acc": tot.acc, "val_loss": val_loss,
                   "val_acc": val_acc, "test_loss": test_loss, "test_acc": test_acc, "seconds": seconds,
                   "val_set": "subset" if subset else "full",
                   "val_n": (self.cfg.round_val_size if subset else
                             None if self.data.val_y is None else len(self.data.val_y)),
                   "steps": tot.steps,
                   "data_epochs": self._data_epochs(epoch)}
            if phase == "prune":
                rec["round"] = k
            if event is not None:
                runstore.append_metric(self.dir, event)
            runstore.append_metric(self.dir, rec)
            elapsed += seconds
            self.save(epoch, elapsed)
            self.log(f"record {epoch}/{len(self.records)} {phase}{' r%d' % k if phase == 'prune' else ''} "
                     f"lr {lr:g} loss {_fmt(tot.loss)} acc {_fmt(tot.acc)} val {_fmt(val_acc)} "
                     f"test {_fmt(test_acc)} {seconds:.1f}s")
        self.finish(elapsed)
        return self.dir

    def _fingerprint(self) -> dict:
        """Pairing fingerprint (empirical.fingerprint) of the freshly built network — taken from the
        state captured before a resume replaced it, so a resumed run records the same value."""
        from empirical.fingerprint import run_fingerprint
        init, self._init_state = self._init_state, None
        stored = runstore.read_config(self.dir) if runstore.has_config(self.dir) else {}
        arrays = (stored.get("data") or {}).get("arrays_sha256") or arrays_digest(self.data)  # ensure_run's, once
        return run_fingerprint(init, self.train_loader, self.probe, arrays)

    def _data_epochs(self, epoch: int) -> float:
        n = self.cfg.rounds
        if epoch <= n:
            return epoch * self.cfg.epochs_per_round
        return n * self.cfg.epochs_per_round + (epoch - n)

    def prune(self, k: int, epoch: int) -> dict:
        """Round k: probe, score, prune, probe; return the prune_event record."""
        from empirical.architectures import widths_of
        before = probe_quantities(self.model, self.probe, temperature=self.cfg.temperature)
        t_tm = time.perf_counter()
        before_tm = self._train_mode_loss()
        tm_seconds = time.perf_counter() - t_tm
        batches = self.importance_batches(k)
        self._sync()
        t0 = time.perf_counter()
        with preserved_modes(self.model):
            self.model.eval()                       # the authors score in eval mode
            score_mode = bn_mode(self.model)        # what is actually used, not what was asked
            scores = importance(self.model, self.measure, batches, unit="filter",
                                temperature=self.cfg.effective_importance_temperature,
                                seed=self.cfg.seed * 1_000_003 + k)
        self._sync()
        score_seconds = time.perf_counter() - t0
        agreement = self._rank_agreement(scores, batches, k)
        widths_before = widths_of(self.model)
        if self.quota is not None:
            from empirical.pruning.quota import prune_round_with_quota
            model, report = prune_round_with_quota(self.pruner, self.model, scores, k, self.quota[k])
        else:
            model, report = self.pruner.prune_round(self.model, scores, k)
        self.model = self._place(model)
        self.pruner.enforce_masks(self.model)
        after = probe_quantities(self.model, self.probe, temperature=self.cfg.temperature)
        t_tm = time.perf_counter()
        after_tm = self._train_mode_loss()
        tm_seconds += time.perf_counter() - t_tm
        rep = report.as_dict()
        extra = {"quota_from": self.cfg.quota_from} if self.cfg.quota_from is not None else {}
        return {**extra,"kind": "prune_event", "round": k, "epoch": epoch, "measure": self.cfg.measure,
                "before": {a: finite(b) for a, b in before.items()},
                "after": {a: finite(b) for a, b in after.items()},
                "widths_before": rep.get("widths_before", widths_before),
                "widths_after": rep.get("widths_after", widths_of(self.model)),
                "params": int(rep["params"]), "flops": int(rep["flops"]),
                "channels": rep.get("channels"),
                "channel_sparsity": rep["channel_sparsity"], "param_sparsity": rep["param_sparsity"],
                "flop_sparsity": rep["flop_sparsity"],
                "target_channel_sparsity": rep["target_channel_sparsity"],
                "removed": {g: [int(i) for i in idx] for g, idx in (report.removed or {}).items()},
                "score_seconds": score_seconds, "score_bn_mode": score_mode,
                "probe_temperature": self.cfg.temperature, "probe_bn_mode": "eval",
                "importance_samples": sum(int(t.shape[0]) for _, t in batches),
                "importance_temperature": self.cfg.effective_importance_temperature,
                "before_train_mode_loss": before_tm, "after_train_mode_loss": after_tm,
                "train_mode_loss_seconds": tm_seconds, **agreement}

    # ---- descriptive train-mode quantities (no effect on the run: buffers and RNGs restored)
    def _restoring(self):
        """Context: on exit every buffer of the model (BN running statistics, counters) and every
        RNG state are what they were on entry."""
        import contextlib

        @contextlib.contextmanager
        def ctx():
            bufs = [(b, b.detach().clone()) for b in self.model.buffers()]
            rng = rng_state()
            try:
                with preserved_modes(self.model):
                    yield
            finally:
                with torch.no_grad():
                    for b, saved in bufs:
                        b.copy_(saved)
                set_rng_state(rng)
        return ctx()

    def _train_mode_loss(self) -> float | None:
        """Mean CE(f(x)/T, y) on the probe batch with BatchNorm in train mode (batch statistics),
        fp32, no gradient; the running statistics are restored afterwards."""
        import torch.nn.functional as F
        x, y = self.probe
        with self._restoring(), torch.no_grad():
            self.model.train()
            loss = F.cross_entropy(self.model(x).float() / self.cfg.temperature, y)
        return finite(loss)

    def _rank_agreement(self, eval_scores, batches, k: int) -> dict:
        """Spearman ρ between the measure's eval-mode unit scores (what the run ranks) and the
        same measure's train-mode scores on the same batches, over the active units; computed at
        rounds AGREEMENT_ROUNDS for measures that read data (see module docstring)."""
        out = {"score_rank_agreement_train_eval": None, "train_mode_score_seconds": None}
        if self.measure.needs <= {"generator"}:
            return {**out, "score_rank_agreement_note": f"not computed: {self.cfg.measure} reads no data, so its "
                    "scores do not depend on the BatchNorm mode (ρ = 1 trivially)"}
        if k not in AGREEMENT_ROUNDS:
            return {**out, "score_rank_agreement_note": "not computed at this round (rounds "
                    f"{', '.join(map(str, AGREEMENT_ROUNDS))} only: one more scoring pass each)"}
        from scipy.stats import spearmanr
        self._sync()
        t0 = time.perf_counter()
        with self._restoring():
            self.model.train()
            train_scores = importance(self.model, self.measure, batches, unit="filter",
                                      temperature=self.cfg.effective_importance_temperature,
                                      seed=self.cfg.seed * 1_000_003 + k)
        self.model.zero_grad(set_to_none=True)
        self._sync()
        seconds = time.perf_counter() - t0
        a, b = self.pruner.unit_scores(self.model, eval_scores), self.pruner.unit_scores(self.model, train_scores)
        act = _active_positions(self.pruner)
        ea = np.concatenate([a[g][act[g]] for g in act])
        tb = np.concatenate([b[g][act[g]] for g in act])
        rho = spearmanr(ea, tb).statistic if len(ea) > 1 else float("nan")
        return {"score_rank_agreement_train_eval": finite(rho), "train_mode_score_seconds": seconds,
                "score_rank_agreement_note": f"Spearman ρ over the {len(ea)} active units, same importance batches"}

    def finish(self, elapsed: float) -> None:
        metrics = runstore.read_metrics(self.dir)
        epochs = [m for m in metrics if m["kind"] == "epoch"]
        last = epochs[-1]
        best = _best_of(metrics)
        runstore.write_summary(self.dir, {
            "run_id": self.dir.name, "config": self.cfg.canonical(), "complete": True,
            "epochs": len(epochs), "data_epochs": last.get("data_epochs"), "seconds": elapsed,
            "final": {"train_loss": last["train_loss"], "train_acc": last["train_acc"],
                      "val_acc": last["val_acc"], "test_acc": last["test_acc"]},
            "best": best, "eval_data": self.data.eval_data,
            "precision": self.cfg.precision, "fingerprint": self.fingerprint,
            "validation": _validation_record(self.cfg, self.data),
            "provenance": {**provenance(self.device), **_thread_record(self.cfg, self.device),
                           "data": self.data.integrity,
                           **({"quota_source_run": self.cfg.quota_source.run_id()} if self.quota else {})}})
        self.log(f"complete: final val {_fmt(last['val_acc'])} test {_fmt(last['test_acc'])}, "
                 f"best val {_fmt(best['val_acc'])} (record {best['epoch']}), {elapsed:.1f}s")


def _active_positions(pruner) -> dict[str, np.ndarray]:
    """{group: positions of its active units in ``unit_scores`` order} (physical groups: all
    current positions; mask groups: the still-alive original indices)."""
    return {g.name: (np.arange(len(pruner.alive[g.name])) if g.kind == "physical"
                     else np.asarray(pruner.alive[g.name], dtype=np.int64)) for g in pruner.groups}


def _best_of(metrics: list[dict]) -> dict:
    """Best record by val_acc among the post-pruning epochs (all epochs if there are none),
    on the full validation set only (records with ``val_set`` "subset" never compete); never
    selected on test. Ties: the earliest."""
    epochs = [m for m in metrics if m.get("kind") == "epoch" and m.get("val_acc") is not None
              and m.get("val_set", "full") == "full"]
    train = [m for m in epochs if m.get("phase") == "train"]
    pool = train or epochs
    if not pool:
        return {"epoch": None, "val_acc": None, "test_acc": None}
    b = max(pool, key=lambda m: (m["val_acc"], -m["epoch"]))
    return {"epoch": b["epoch"], "val_acc": b["val_acc"], "test_acc": b["test_acc"]}


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def _check_same_data(run_dir: Path, integrity: dict | None) -> None:
    """A run resumes only on the arrays it started with (config.json's provenance.data)."""
    if not runstore.has_config(run_dir) or not integrity:
        return
    then = (runstore.read_config(run_dir).get("provenance", {}).get("data") or {}).get("splits", {})
    for split, entry in integrity["splits"].items():
        old = (then.get(split) or {}).get("arrays_sha256")
        if old is not None and old != entry["arrays_sha256"]:
            raise ConfigError(f"{run_dir}: the {split} data loaded now (arrays sha256 "
                              f"{entry['arrays_sha256'][:16]}…) is not the data this run started with "
                              f"({old[:16]}…); fix: point --data-dir at the original data, or delete "
                              f"{run_dir} to start the run again")


def _check_same_precision(run_dir: Path, cfg: RunConfig, device) -> None:
    """A run resumes only under the precision it started with, on a processor with the same bf16
    capability (bf16 autocast on a CPU without bf16 instructions is emulated: other numbers)."""
    if not runstore.has_config(run_dir):
        return
    meta = runstore.read_config(run_dir)
    then = meta.get("config", {}).get("precision")
    if then is not None and then != cfg.precision:
        raise ConfigError(f"{run_dir}: this run started in precision {then!r}, not {cfg.precision!r}; fix: "
                          f"resume it with --precision {then}, or delete {run_dir} to start again")
    old = (meta.get("provenance") or {}).get("cpu_features")
    if cfg.precision == "bf16" and torch.device(device).type == "cpu" and old is not None:
        from gftheory.provenance import cpu_features
        now = cpu_features()
        if bool(old.get("bf16")) != bool(now.get("bf16")):
            raise ConfigError(f"{run_dir}: a bf16 run started on a processor {'with' if old.get('bf16') else 'without'} "
                              f"bf16 instructions ({old.get('flags')}) and would resume on one "
                              f"{'with' if now.get('bf16') else 'without'} ({now.get('flags')}); fix: resume it on "
                              f"the processor kind it started on, or delete {run_dir} to start again")


def _validation_record(cfg: RunConfig, splits: Splits) -> dict:
    """Which validation set the records use (config.json / summary.json ``validation``)."""
    n = None if splits.val_y is None else len(splits.val_y)
    out = {"full": n, "round_subset": None, "best_on": "full", "final_on": "full"}
    if cfg.round_val_size is not None and n:
        idx = val_subset_indices(n, cfg.round_val_size)
        import hashlib
        out["round_subset"] = {"n": int(cfg.round_val_size), "seed": VAL_SUBSET_SEED,
                               "positions_sha256": hashlib.sha256(idx.numpy().astype("<i8").tobytes()).hexdigest()[:16],
                               "records": "pruning rounds except a last record"}
    return out


def _thread_record(cfg: RunConfig, dev) -> dict:
    """The thread counts the run computes with (provenance)."""
    return {"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "cpu_threads_fixed_by_run": cfg.cpu_threads if torch.device(dev).type == "cpu" else None}


def fix_threads(n: int) -> None:
    """torch's intra-op threads := n; inter-op too where torch still allows it (it refuses once
    inter-op work has started in this process — then the count it has stays and is recorded)."""
    torch.set_num_threads(int(n))
    if torch.get_num_interop_threads() != n:
        try:
            torch.set_num_interop_threads(int(n))
        except RuntimeError:
            pass


def load_quota(cfg: RunConfig, root: Path) -> tuple[str, dict[int, dict[str, int]]]:
    """(source run id, {round: {group: units removed}}) of a layer-matched arm's source run
    ``cfg.quota_source`` in ``root``: it must be complete and record every round. Read from each
    prune_event's ``removed`` (or, for networks whose unit groups are all physical, from
    ``widths_before`` − ``widths_after``). Raises ConfigError (exit 2) naming the fix."""
    from empirical.pruning.units import unit_groups
    src = cfg.quota_source
    sid = src.run_id()
    sdir = Path(root) / sid
    if not runstore.is_complete(sdir):
        state = "incomplete (no summary.json)" if sdir.exists() else "absent"
        raise ConfigError(f"quota_from {cfg.quota_from!r}: its source run {sid} ({src.arch} {src.measure} seed "
                          f"{src.seed}, scale {src.scale}) is {state} in {root}; fix: run it to completion "
                          f"first (gftheory run --scale {src.scale} --arch {src.arch} --measure {src.measure} "
                          f"--seed {src.seed} ...), or let the sweep / campaign order it before this arm")
    groups = unit_groups(cfg.arch, cfg.coupled_residual)
    events = {int(e["round"]): e for e in runstore.read_metrics(sdir) if e.get("kind") == "prune_event"}
    quota: dict[int, dict[str, int]] = {}
    for k in range(1, cfg.rounds + 1):
        e = events.get(k)
        if e is None:
            raise ConfigError(f"quota_from: source run {sid} has no prune_event for round {k}; fix: rerun the "
                              f"source run ({sdir}) with this code")
        if e.get("removed") is not None:
            quota[k] = {g: len(v) for g, v in e["removed"].items() if len(v)}
        elif all(g.kind == "physical" for g in groups):
            wb, wa = e["widths_before"], e["widths_after"]
            quota[k] = {g.name: int(wb[g.space]) - int(wa[g.space]) for g in groups
                        if int(wb[g.space]) != int(wa[g.space])}
        else:
            raise ConfigError(f"quota_from: source run {sid} predates the per-round 'removed' records and "
                              f"{cfg.arch} has masked unit groups whose counts its widths do not show; fix: "
                              f"rerun the source run with this code")
    return sid, quota


def ensure_run(config: RunConfig, root, *, device=None, data_dir=None, progress: bool = True) -> Path:
    """Run ``config`` in ``root/<run_id>`` — resume from its checkpoint if one exists, skip it if
    summary.json says it completed — and return the run directory."""
    dev = resolve_device(device)
    cfg = effective_config(config, dev)
    root = check_root(root)  # unwritable / not a directory → exit 2 before the data loads
    run_dir = root / cfg.run_id()
    if runstore.is_complete(run_dir):
        if progress:
            print(f"[{run_dir.name}] complete; skipped", file=sys.stderr, flush=True)
        return run_dir
    quota_src, quota = load_quota(cfg, root) if cfg.quota_from is not None else (None, None)
    previous = torch.get_num_threads()
    if dev.type == "cpu":
        fix_threads(cfg.cpu_threads)
    try:
        return _ensure_run(cfg, root, run_dir, dev, data_dir, progress, quota_src, quota)
    finally:
        torch.set_num_threads(previous)


def _ensure_run(cfg, root, run_dir, dev, data_dir, progress, quota_src, quota) -> Path:
    splits = prepare_data(cfg, data_dir)  # bad data → error before the run dir exists
    from empirical.data import integrity_warning
    warning = integrity_warning(splits.integrity)
    if warning:
        print(f"[{run_dir.name}] {warning}", file=sys.stderr, flush=True)
    with runstore.exclusive(run_dir):  # one writer per run; RunBusy when another process has it
        if runstore.is_complete(run_dir):  # finished by that process while this one loaded data
            return run_dir
        _check_same_data(run_dir, splits.integrity)
        _check_same_precision(run_dir, cfg, dev)
        run_dir.mkdir(parents=True, exist_ok=True)
        if not runstore.has_config(run_dir):
            runstore.write_config(run_dir, {
                "run_id": run_dir.name, "config": cfg.canonical(), "deviations": cfg.deviations(),
                "data": {"source": splits.source, "arrays_sha256": arrays_digest(splits),
                         "train": len(splits.train_y),
                         "val": None if splits.val_y is None else len(splits.val_y),
                         "test": None if splits.test_y is None else len(splits.test_y),
                         "eval_data": splits.eval_data,
                         "status": (splits.integrity or {}).get("status")},
                "validation": _validation_record(cfg, splits),
                "provenance": {**provenance(dev), **_thread_record(cfg, dev), "data": splits.integrity,
                               **({"quota_source_run": quota_src} if quota_src else {})}})
        return Run(cfg, run_dir, splits, dev, progress, quota=quota).execute()
