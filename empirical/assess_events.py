"""``gftheory assess MEASURE --arch ...``, the empirical part: one paired pruning event at one
checkpoint, the assessed measure beside magnitude, loss_preservation, grasp,
gradient_norm_preservation and random (``BASELINES``), every measure removing the same number of
units from the same checkpoint, scored on the same importance sample and measured on the same probe.

The checkpoint (``Setup.checkpoint``):
- ``auto`` (default): a stored event study's first checkpoint (``checkpoint_e<E>.pt`` under
  ``runs_root``, a study of the same registered network and dataset) when the data are real CIFAR
  and one is there, else ``short``;
- ``short``: a short trajectory: the network from its seeded initialisation, ``train_steps`` SGD
  steps (lr ``lr``, momentum 0.9, weight decay 1e-4, batch ``batch_size``, crop + flip, logits / T:
  the study's recipe and data pipeline) on the training split;
- a path: a ``.pt`` file (an event study's checkpoint ``{"model": state_dict}`` or a bare
  state_dict), or an event-study directory (its first checkpoint).

Data: real CIFAR-10/100 (``empirical.runner.prepare_data``'s split: 5,000 held-out training images
for accuracy — a fifth of a smaller set —, the rest for training) or ``synthetic``: the planted-grating images of
``empirical.data.demo_images`` — labelled ``SYNTHETIC`` ("synthetic, not evidence") in every output.
A data folder written by ``gftheory data demo`` is synthetic too.

The event (docs/paper.md §2 T1/T2, the event study's "round1"): the first round of the paper's
schedule (75 % over 25 rounds: ≈ 10.7 % of the units; ``fraction`` instead removes that fraction in
one round), global ranking, per-group floor int(0.05·W)+1 (``StructuredPruner``'s rule). The probe
(``probe_size`` fixed un-augmented training images, eval mode, the training temperature T) gives
L, ‖g‖², g and Hg before; after the removal L and ‖g‖² of the network that is left. Predictions of
ΔL for the removed set S: first order −θ_Sᵀg, second order −θ_Sᵀg + ½θ_SᵀHθ_S; of Δ‖g‖²:
−2θ_Sᵀ(Hg); for two sets as in the event study: ``weights`` (the removed units' weights the measure
scores, the paper's θ_p) and ``channel`` (every slice the removed channels own: conv / linear rows,
biases, the following BatchNorm's γ, β, a coupled depthwise conv's channel) — the actual removal
equals θ − θ_channel, so ``channel`` is the prediction to compare with the actual ΔL.

- A registered network (``empirical.architectures``) is removed by the event study itself:
  ``EventStudy._prune`` (``StructuredPruner`` round 1, surgery / masks) and
  ``EventStudy._measure_event`` (probe after, predictions, ``hvp_many`` for θ_SᵀHθ_S, accuracy).
- A network given as ``module:factory`` gets its units from Torch-Pruning's coupled groups
  (``empirical.external_net.coupled_groups``: residual adds, depthwise convs and concatenations
  handled); a unit's score is the sum of its members' filter scores; the removal zeroes the slices
  the channels own (θ − θ_channel: the per-unit events' removal, ``empirical.events_units``) in a
  copy of the model, which equals physical removal in eval mode (a zeroed channel outputs 0);
  Δ‖g‖² is over the surviving parameters (as after surgery).

Cost: the wall-clock seconds of each measure's one ``gftheory.importance`` call on the importance
sample, and its ratio to magnitude's: descriptive, never asserted.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import torch

from gftheory.errors import UsageError

BASELINES = ("magnitude", "loss_preservation", "grasp", "gradient_norm_preservation", "random")
SYNTHETIC = "synthetic, not evidence"
SCHEDULE_TARGET, SCHEDULE_ROUNDS = 0.75, 25
FLOOR_FRACTION = 0.05
HOLDOUT = 5000


@dataclass(frozen=True)
class Setup:
    """One empirical assessment (every field is a ``gftheory assess`` flag)."""
    measure: str
    arch: str
    dataset: str = "cifar10"
    data_dir: str | None = None
    synthetic: bool = False
    checkpoint: str = "auto"
    runs_root: str = "runs"
    train_steps: int = 100
    probe_size: int = 512
    importance_samples: int = 512
    val_size: int = 1000
    fraction: float | None = None
    temperature: float = 5.0
    lr: float = 0.1
    batch_size: int = 128
    probe_chunk: int = 128
    seed: int = 0
    device: str = "cpu"

    @property
    def external(self) -> bool:
        return ":" in self.arch


# -- checks before any work ---------------------------------------------------------------------

def check(setup: Setup) -> None:
    """Every problem with ``setup`` as a UsageError (exit 2, one line "problem; fix: ...") before
    any data is loaded or any model trained: the network (registered, or a ``module:factory`` that
    builds an nn.Module, with Torch-Pruning installed), the data folder, the checkpoint (it exists and
    fits the network), the numbers."""
    from empirical.architectures import ARCHITECTURES
    from empirical.data import DATASETS
    if setup.dataset not in DATASETS:
        raise UsageError(f"--dataset {setup.dataset!r} is unknown; fix: use one of {', '.join(DATASETS)}")
    for name in ("probe_size", "importance_samples", "val_size", "batch_size", "probe_chunk"):
        v = getattr(setup, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UsageError(f"--{name.replace('_', '-')} {v!r} is not a positive integer; fix: give e.g. 128")
    if not isinstance(setup.train_steps, int) or setup.train_steps < 0:
        raise UsageError(f"--train-steps {setup.train_steps!r} is negative; fix: give 0 or more SGD steps")
    if not isinstance(setup.seed, int) or setup.seed < 0:
        raise UsageError(f"--trajectory-seed {setup.seed!r} is negative; fix: give 0 or more")
    if setup.fraction is not None and not 0 < setup.fraction < 1:
        raise UsageError(f"--fraction {setup.fraction!r} is outside (0, 1); fix: give e.g. 0.1 (or leave it "
                         f"out: the first round of the paper's schedule, ≈ 10.7 %)")
    for name in ("temperature", "lr"):
        v = getattr(setup, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise UsageError(f"--{name} {v!r} is not a positive number; fix: give e.g. "
                             f"{'5' if name == 'temperature' else '0.1'}")
    from empirical.config import ConfigError
    from empirical.runner import resolve_device
    try:
        resolve_device(setup.device)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    num_classes = DATASETS[setup.dataset].num_classes
    if setup.external:
        from empirical.external_net import _torch_pruning, load_network
        _torch_pruning()                              # UsageError naming the extra when absent
        model = load_network(setup.arch, num_classes)
    elif setup.arch not in ARCHITECTURES:
        raise UsageError(f"--arch {setup.arch!r} is not a registered network; fix: use one of "
                         f"{', '.join(ARCHITECTURES)}, or 'package.module:factory' for your own nn.Module")
    else:
        model = None
    if setup.synthetic and setup.data_dir is not None:
        raise UsageError("--data synthetic and --data-dir both given; fix: give one of them")
    if not setup.synthetic:
        from empirical.data import resolve_data_dir
        folder = resolve_data_dir(setup.data_dir) / DATASETS[setup.dataset].folder
        if not folder.is_dir():
            raise UsageError(f"no {setup.dataset} data: {folder} is not a folder; fix: --data-dir DIR holding "
                             f"{folder.name}/ (gftheory data download {setup.dataset} --data-dir DIR), or "
                             f"--data synthetic ({SYNTHETIC})")
    if setup.checkpoint not in ("auto", "short"):
        path = Path(setup.checkpoint)
        if not path.exists():
            raise UsageError(f"--checkpoint {setup.checkpoint!r} does not exist; fix: give a .pt file, an "
                             f"event-study directory, 'auto' or 'short'")
        file = _study_checkpoint(path, setup) if path.is_dir() else path
        state = _load_state(file)
        if model is None:
            from empirical.architectures import build
            model = build(setup.arch, num_classes)
        try:
            model.load_state_dict(state)
        except Exception as exc:
            raise UsageError(f"--checkpoint {str(file)!r} does not fit --arch {setup.arch} with {num_classes} "
                             f"classes ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); fix: give the "
                             f"checkpoint of this network") from None


def _load_state(file: Path) -> dict:
    try:
        obj = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(f"--checkpoint {str(file)!r} cannot be read as a torch checkpoint "
                         f"({type(exc).__name__}); fix: give a file saved with torch.save") from None
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UsageError(f"--checkpoint {str(file)!r} holds no state_dict; fix: give {{'model': state_dict}} "
                         f"or a bare state_dict")
    return obj


def _study_checkpoint(folder: Path, setup: Setup) -> Path:
    """The first stored checkpoint of the event study in ``folder`` (UsageError if it is none)."""
    from gftheory import runstore
    try:
        meta = runstore.read_config(folder)
    except (OSError, ValueError):
        meta = None
    if not meta or not runstore.is_event_study(meta):
        raise UsageError(f"--checkpoint {str(folder)!r} is not an event-study directory (no event-study "
                         f"config.json); fix: give a study of `gftheory events`, or a .pt file")
    cfg = meta.get("config", {})
    if cfg.get("arch") != setup.arch or cfg.get("dataset") != setup.dataset:
        raise UsageError(f"--checkpoint {str(folder)!r} is a study of {cfg.get('arch')}/{cfg.get('dataset')}, not "
                         f"{setup.arch}/{setup.dataset}; fix: give --arch {cfg.get('arch')} --dataset "
                         f"{cfg.get('dataset')} or another study")
    for e in sorted(cfg.get("checkpoints") or []):
        f = folder / runstore.study_checkpoint(e)
        if f.is_file():
            return f
    raise UsageError(f"--checkpoint {str(folder)!r} holds no stored checkpoint (checkpoint_e<E>.pt); fix: "
                     f"run its trajectory (gftheory events) or use --checkpoint short")


def stored_study(setup: Setup) -> Path | None:
    """``auto``: the first event study under ``runs_root`` of the same registered network and dataset
    that holds a stored checkpoint (by seed, then id), or None."""
    from gftheory import runstore
    root = Path(setup.runs_root)
    if setup.external or setup.synthetic or not root.is_dir():
        return None
    found = []
    for d in sorted(root.iterdir()):
        try:
            meta = runstore.read_config(d)
        except (OSError, ValueError):
            continue
        cfg = meta.get("config", {}) if runstore.is_event_study(meta) else {}
        if cfg.get("arch") == setup.arch and cfg.get("dataset") == setup.dataset and any(
                (d / runstore.study_checkpoint(e)).is_file() for e in cfg.get("checkpoints") or []):
            found.append((int(cfg.get("seed", 0)), d.name, d))
    return min(found)[2] if found else None


# -- data, probe, model -------------------------------------------------------------------------

def load_data(setup: Setup) -> SimpleNamespace:
    """train_x/train_y (uint8 images, labels), val_x/val_y (held out), num_classes, synthetic, label."""
    from empirical.data import DATASETS, SYNTHETIC_DEMO, demo_images
    nc = DATASETS[setup.dataset].num_classes
    if setup.synthetic:
        x, y = demo_images(max(1000, setup.probe_size, setup.importance_samples), setup.seed, nc)
        vx, vy = demo_images(setup.val_size, setup.seed + 1_000_003, nc)
        return SimpleNamespace(train_x=torch.from_numpy(x), train_y=torch.from_numpy(y), val_x=torch.from_numpy(vx),
                               val_y=torch.from_numpy(vy), num_classes=nc, synthetic=True, source="generated",
                               label=f"{SYNTHETIC}: generated planted-grating images (empirical.data.demo_images), "
                                     f"not {setup.dataset}")
    from empirical.data import DataError, load_cifar
    from empirical.runner import prepare_data

    def split(holdout):      # prepare_data reads these fields of a run's config
        return prepare_data(SimpleNamespace(dataset=setup.dataset, eval_split="holdout", holdout_size=holdout,
                                            max_train_samples=None, max_test_samples=None), setup.data_dir)
    try:
        sp = split(HOLDOUT)                        # the study's held-out 5,000
    except DataError:                              # a small set (a demo folder): a fifth held out
        sp = split(max(1, len(load_cifar(setup.dataset, setup.data_dir).train_labels) // 5))
    synthetic = (sp.integrity or {}).get("status") == SYNTHETIC_DEMO
    label = (f"{SYNTHETIC}: {sp.eval_data}" if synthetic else
             f"{setup.dataset} ({sp.source}; {len(sp.train_y)} training images, accuracy on the first "
             f"{min(setup.val_size, len(sp.val_y))} of the {sp.eval_data})")
    return SimpleNamespace(train_x=sp.train_x, train_y=sp.train_y, val_x=sp.val_x[:setup.val_size],
                           val_y=sp.val_y[:setup.val_size], num_classes=sp.num_classes, synthetic=synthetic,
                           source=sp.source, label=label)


def _study(setup: Setup, data, device):
    """The event study's machinery on this setup: an ``EventStudy`` whose data are ``data`` and whose
    config is a real ``EventConfig`` (a registered network: pruning and measurement through
    ``_prune`` / ``_measure_event``) or, for a network outside the registry, the fields its data
    pipeline reads (``loader``, ``_fixed``, ``importance_batches``, ``_val_acc``, ``_place``)."""
    from empirical.events import EventConfig, EventStudy, Parts
    target, rounds = schedule(setup)
    common = dict(seed=setup.seed, importance_samples=setup.importance_samples, probe_size=setup.probe_size,
                  val_size=setup.val_size, temperature=float(setup.temperature), batch_size=setup.batch_size,
                  channels_last=False, probe_chunk=setup.probe_chunk, schedule_target=target,
                  schedule_rounds=rounds, floor_fraction=FLOOR_FRACTION, lr=setup.lr)
    if setup.external:
        cfg = SimpleNamespace(arch=setup.arch, **common)
    else:
        cfg = EventConfig(arch=setup.arch, dataset=setup.dataset, checkpoints=(1,), measures=("magnitude",),
                          edition=2, units_per_checkpoint=0, random_draws=0, random_recovery_draws=0,
                          quota_measures=(), layer_random_measures=(), **common)
    st = EventStudy.__new__(EventStudy)        # no run directory: nothing of the study is written
    st.cfg, st.dir, st.data, st.device, st.progress = cfg, None, data, device, False
    st.parts, st._chunk, st._mask_pruner = Parts(), setup.probe_chunk, None
    st.probe_batch = st._fixed(data.train_x, data.train_y, setup.probe_size, setup.seed * 7919 + 1)
    st.val_loader = st.loader(data.val_x, data.val_y, train=False, seed=0, batch_size=500)
    return st


def schedule(setup: Setup) -> tuple[float, int]:
    """(target, rounds) whose first round is the event: the paper's 75 % / 25 rounds, or one round
    of ``fraction``."""
    return (SCHEDULE_TARGET, SCHEDULE_ROUNDS) if setup.fraction is None else (float(setup.fraction), 1)


def build_model(setup: Setup, num_classes: int, device):
    """The network at its seeded initialisation (``seed_everything(seed)`` first)."""
    from empirical.runner import seed_everything
    seed_everything(setup.seed)
    if setup.external:
        from empirical.external_net import load_network
        model = load_network(setup.arch, num_classes)
    else:
        from empirical.architectures import build
        model = build(setup.arch, num_classes)
    return model.to(device)


def short_trajectory(st, model, setup: Setup) -> dict:
    """``train_steps`` SGD steps of the study's recipe on the training split (epochs of the seeded
    loader as needed)."""
    from empirical.train import make_optimizer, train_steps
    opt = make_optimizer(model, setup.lr, 0.9, 1e-4)
    loader = st.loader(st.data.train_x, st.data.train_y, train=True, seed=setup.seed)
    done, epoch, tot = 0, 0, None
    while done < setup.train_steps:
        loader.set_epoch(epoch)
        tot = train_steps(model, loader, opt, temperature=setup.temperature, precision="fp32",
                          device=st.device, steps=setup.train_steps - done)
        if tot.steps == 0:
            break
        done, epoch = done + tot.steps, epoch + 1
    model.eval()
    return {"steps": done, "epochs_started": epoch, "last_epoch_train_loss": tot.loss if tot else None,
            "last_epoch_train_acc": tot.acc if tot else None}


# -- units of a network outside the registry ----------------------------------------------------

def external_groups(model, example) -> list:
    """Torch-Pruning's coupled groups of ``model``, in the order of their root module."""
    from empirical.external_net import coupled_groups
    order = {n: i for i, (n, _) in enumerate(model.named_modules())}
    return sorted(coupled_groups(model, example), key=lambda g: order[g.root])


def floors(widths: dict[str, int]) -> dict[str, int]:
    """int(0.05·W)+1 per group (exact decimal, as ``StructuredPruner``)."""
    from empirical.pruning.schedule import exact_fraction
    ff = exact_fraction(FLOOR_FRACTION, "floor_fraction")
    return {g: min(w, int(ff * w) + 1) for g, w in widths.items()}


def owned_vectors(obj, model, groups, chosen: dict[str, list[int]]):
    """0/1 vectors over flat θ of the removed channels: ``weights`` (the members' weight rows, what
    the measure scored) and ``channel`` (every slice they own: rows, biases, BatchNorm γ, β)."""
    params = dict(model.named_parameters())
    offsets = obj.spec.offsets()
    w = {n: torch.zeros_like(p) for n, p in params.items() if n in offsets}
    c = {n: torch.zeros_like(p) for n, p in params.items() if n in offsets}
    for g in groups:
        cs = chosen.get(g.root) or []
        if not cs:
            continue
        owned = g.owned or tuple((m, "conv", tuple((i, i) for i in range(g.channels))) for m in g.members)
        for mod, kind, pairs in owned:
            at = dict(pairs)
            idx = [at[ch] for ch in cs]
            for attr in ("weight", "bias"):
                if f"{mod}.{attr}" in c:
                    c[f"{mod}.{attr}"][idx] = 1
            if mod in g.members and f"{mod}.weight" in w:
                w[f"{mod}.weight"][idx] = 1
    return obj.flatten(w), obj.flatten(c)


def _predictions(before, w_sel, c_sel) -> dict:
    """The event study's prediction fields (``EventStudy._measure_event``) for the two sets."""
    from empirical.events_units import hvp_many
    th, g, hg = before["theta"], before["g"], before["hg"]
    pred = {"dloss_weights": float(-(w_sel * th) @ g), "dloss_channel": float(-(c_sel * th) @ g),
            "dgrad_norm_sq_weights": float(-2 * (w_sel * th) @ hg),
            "dgrad_norm_sq_channel": float(-2 * (c_sel * th) @ hg),
            "removed_norm_sq_weights": float((w_sel * th) @ th), "removed_norm_sq_channel": float((c_sel * th) @ th)}
    hw, hc = hvp_many(before["obj"], [w_sel * th, c_sel * th], th)
    q_w, q_c = float((w_sel * th) @ hw), float((c_sel * th) @ hc)
    pred.update({"theta_hess_theta_weights": q_w, "theta_hess_theta_channel": q_c,
                 "dloss_weights_second_order": pred["dloss_weights"] + 0.5 * q_w,
                 "dloss_channel_second_order": pred["dloss_channel"] + 0.5 * q_c})
    return pred


def external_event(st, m: str, model, groups, before, scores_of, count: int) -> dict:
    """One measure's event on a network outside the registry (see module docstring)."""
    import numpy as np
    from empirical.events import probe
    from empirical.external_net import group_scores
    from empirical.pruning.pruner import select_lowest
    scores, score_s = scores_of(m, model, (m, 0))
    unit = {g.root: group_scores([g], scores)[g.root].detach().to("cpu", torch.float64).numpy() for g in groups}
    for name, arr in unit.items():
        if not np.isfinite(arr).all():
            raise ValueError(f"measure {m!r} gave non-finite scores for group {name!r}")
    widths = {g.root: g.channels for g in groups}
    fl = floors(widths)
    chosen = select_lowest(unit, {g: np.arange(w) for g, w in widths.items()},
                           {g: widths[g] - fl[g] for g in widths}, count)
    w_sel, c_sel = owned_vectors(before["obj"], model, groups, chosen)
    pred = _predictions(before, w_sel, c_sel)
    pruned = copy.deepcopy(model)
    obj = before["obj"]
    with torch.no_grad():
        new = obj.unflatten(before["theta"] * (1 - c_sel))
        for n, p in pruned.named_parameters():
            if n in new:
                p.copy_(new[n])
    after = probe(pruned, st.probe_batch, st.cfg.temperature, hessian=False, chunk=st._chunk, train_mode=True,
                  parts=st.parts)
    values = dict(after["values"])
    keep = after["g"] * (1 - c_sel)              # the surviving parameters' gradient (as after surgery)
    values["grad_norm_sq_all"] = values["grad_norm_sq"]
    values["grad_norm_sq"] = float(keep @ keep)
    removed = {g: sorted(v) for g, v in chosen.items() if v}
    return {"removed": removed, "n_units_removed": sum(len(v) for v in removed.values()),
            "units_total": sum(widths.values()), "group_units": {g: widths[g] - len(chosen[g]) for g in widths},
            "pred": pred, "after": values, "val_acc_after": st._val_acc(pruned), "score_seconds": score_s,
            "removal": "θ − θ_channel (coupled channels zeroed; equal to physical removal in eval mode)"}


# -- the assessment ----------------------------------------------------------------------------

def run(setup: Setup, *, progress=None, keep=None) -> dict:
    """The empirical assessment of ``setup`` as plain data (JSON-serialisable; rendered by
    ``gftheory.assess``). ``keep``: a path to save the assessed checkpoint, the probe and every
    measure's removed units (torch.save) so the numbers can be recomputed."""
    import numpy as np
    from empirical.events import probe
    from empirical.pruning.schedule import cumulative_pruned
    from empirical.runner import resolve_device
    from gftheory.importance import importance
    from gftheory.measures import MEASURES
    from gftheory.state import preserved_modes

    say = progress or (lambda s: None)
    device = resolve_device(setup.device)
    labels = [setup.measure] + [b for b in BASELINES if b != setup.measure]
    measures = {k: MEASURES.resolve(k) for k in labels}
    ck = {"kind": "short trajectory"}
    study = None
    if setup.checkpoint == "auto":
        study = stored_study(setup)
    elif setup.checkpoint != "short" and Path(setup.checkpoint).is_dir():
        study = Path(setup.checkpoint)
    if study is not None:
        from gftheory import runstore
        scfg = runstore.read_config(study)["config"]
        setup = _replace(setup, temperature=float(scfg.get("temperature", setup.temperature)))
    data = load_data(setup)
    st = _study(setup, data, device)
    model = build_model(setup, data.num_classes, device)
    if study is not None:
        file = _study_checkpoint(study, setup)
        model.load_state_dict(_load_state(file))
        ck = {"kind": "stored event-study checkpoint", "path": str(file), "study": study.name}
    elif setup.checkpoint not in ("auto", "short"):
        model.load_state_dict(_load_state(Path(setup.checkpoint)))
        ck = {"kind": "given checkpoint", "path": str(setup.checkpoint)}
    else:
        say(f"short trajectory: {setup.train_steps} SGD steps")
        t0 = time.perf_counter()
        ck.update(short_trajectory(st, model, setup), seconds=time.perf_counter() - t0)
    model.eval()
    say("probe before the event (L, g, Hg)")
    before = probe(model, st.probe_batch, setup.temperature, hessian=True, chunk=st._chunk, train_mode=True,
                   parts=st.parts)
    val_before = st._val_acc(model)
    batches = st.importance_batches(1)

    cache: dict = {}

    def scores_of(m, mdl, key, mode="eval"):
        if key not in cache:
            t = time.perf_counter()
            with preserved_modes(mdl):
                mdl.eval()
                s = importance(mdl, measures[m], batches, unit="filter",
                               temperature=measures[m].temperature_for(setup.temperature),
                               seed=setup.seed * 1_000_003 + 1)
            cache[key] = (s, time.perf_counter() - t)
        return cache[key]

    target, rounds = schedule(setup)
    if setup.external:
        groups = external_groups(model, st.probe_batch[0][:1])
        widths = {g.root: g.channels for g in groups}
        count = cumulative_pruned(1, sum(widths.values()), target, rounds)
        units = "Torch-Pruning coupled groups (empirical.external_net.coupled_groups)"
        members = {g.root: sorted(g.members) for g in groups}
    else:
        from empirical.pruning import StructuredPruner
        pr = StructuredPruner(model, setup.arch, target=target, rounds=rounds, floor_fraction=FLOOR_FRACTION)
        widths = dict(pr.original)
        count = cumulative_pruned(1, pr.units_total, target, rounds)
        units = "the registered network's unit groups (empirical.pruning.units)"
        members = {g.name: sorted({w.rsplit(".", 1)[0] for w in g.score_from}) for g in pr.groups}
    fl = floors(widths)
    records = {}
    for m in labels:
        say(f"event: {m}")
        if setup.external:
            out = external_event(st, m, model, groups, before, scores_of, count)
        else:
            pre, pruned, pr, rep, score_s = st._prune(m, "round1", model, scores_of)
            out = st._measure_event(m, "round1", pre, pruned, pr, rep, before, 1, recovery=False,
                                    hessian_after=False, second_order=True)
            out["score_seconds"] = score_s
            out["removal"] = "the event study's round-1 removal (StructuredPruner: surgery / masks)"
        records[m] = _record(out, before["values"], widths, fl)
    mag = records["magnitude"]["score_seconds"]
    for r in records.values():
        r["cost_ratio_to_magnitude"] = r["score_seconds"] / mag if mag > 0 else None
    order = sorted(labels, key=lambda k: records[k]["dloss"])
    for i, k in enumerate(order):
        records[k]["dloss_rank"] = i + 1
    if keep is not None:
        torch.save({"arch": setup.arch, "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "probe_x": st.probe_batch[0].cpu(), "probe_y": st.probe_batch[1].cpu(),
                    "temperature": setup.temperature,
                    "removed": {k: r["removed"] for k, r in records.items()}}, keep)
    b = before["values"]
    return {"measure": setup.measure, "measures": labels, "arch": setup.arch, "dataset": setup.dataset,
            "synthetic": bool(data.synthetic), "label": data.label, "evidence": False,
            "checkpoint": ck, "setup": asdict(setup), "units": units,
            "event": ("first round of the paper's schedule (75 % over 25 rounds)" if setup.fraction is None
                      else f"one round removing {setup.fraction:g} of the units"),
            "units_total": int(sum(widths.values())), "units_to_remove": int(count),
            "groups": [{"name": g, "original": int(w), "floor": int(fl[g]), "members": members.get(g, [g])}
                       for g, w in widths.items()],
            "before": {"loss": b["loss"], "grad_norm_sq": b["grad_norm_sq"], "theta_dot_grad": b["theta_dot_grad"],
                       "theta_dot_hvp": b.get("theta_dot_hvp"), "norm_sq": b["norm_sq"],
                       "loss_train_mode": b.get("loss_train_mode"), "val_acc": val_before},
            "probe": {"images": int(len(st.probe_batch[1])), "temperature": setup.temperature, "bn_mode": "eval"},
            "importance_images": int(sum(len(y) for _, y in batches)),
            "records": records, "dloss_order": order, "torch_threads": torch.get_num_threads(),
            "device": str(device), "seconds_by_part": dict(st.parts.seconds)}


def _replace(setup: Setup, **kw) -> Setup:
    import dataclasses
    return dataclasses.replace(setup, **kw)


def _depth_fractions(widths: dict, after: dict) -> dict:
    """The removed fraction of the units of the first and last third of the groups (network order)."""
    names = list(widths)
    k = max(1, len(names) // 3)

    def frac(sel):
        tot = sum(widths[g] for g in sel)
        return (sum(widths[g] - after[g] for g in sel) / tot) if tot else None
    return {"early": frac(names[:k]), "late": frac(names[-k:]), "groups_per_third": k}


def _record(out: dict, before: dict, widths: dict, fl: dict) -> dict:
    """One measure's row: actual changes, predictions, widths, cost."""
    after = {g: int(out["group_units"][g]) for g in widths}
    pred = out["pred"]
    dl = out["after"]["loss"] - before["loss"]
    rec = {"units_removed": int(out["n_units_removed"]), "units_total": int(out["units_total"]),
           "removed": {g: [int(i) for i in v] for g, v in (out.get("removed") or {}).items()},
           "widths_after": after, "groups_at_floor": [g for g in widths if after[g] <= fl[g] < widths[g]],
           "depth": _depth_fractions(widths, after),
           "loss_after": out["after"]["loss"], "dloss": dl,
           "grad_norm_sq_after": out["after"]["grad_norm_sq"],
           "dgrad_norm_sq": out["after"]["grad_norm_sq"] - before["grad_norm_sq"],
           "first_order": pred["dloss_channel"], "second_order": pred["dloss_channel_second_order"],
           "first_order_weights": pred["dloss_weights"], "second_order_weights": pred["dloss_weights_second_order"],
           "pred_dgrad_norm_sq": pred["dgrad_norm_sq_channel"], "pred": pred,
           "val_acc_after": out.get("val_acc_after"), "score_seconds": float(out["score_seconds"]),
           "removal": out.get("removal")}
    for k in ("param_sparsity", "flop_sparsity"):
        if k in out:
            rec[k] = out[k]
    return rec


def finite_numbers(obj) -> bool:
    """Every float in a JSON-like structure is finite."""
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(finite_numbers(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(finite_numbers(v) for v in obj)
    return True


__all__ = ["BASELINES", "SYNTHETIC", "Setup", "check", "external_event", "external_groups", "finite_numbers",
           "load_data", "owned_vectors", "run", "schedule", "short_trajectory", "stored_study"]
