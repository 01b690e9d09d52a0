"""Where an event-study checkpoint's time goes, edition 1 against edition 2, on one checkpoint in
one process (issue 24, "cheaper checkpoints"). A side experiment: seed ≥ 100, never evidence.

``python -m empirical.events_cost --data-dir D --out F [--arch resnet56] [--seed 100] [--reps 2]``
trains the dense network for a short trajectory (``--train-samples`` images, one epoch), then
times every *part* an event checkpoint is made of, alternating the two editions' variants of a
part rep by rep (edition 1: the probe in one 512-image batch; edition 2: in chunks of
``probe_chunk``, plus the train-mode loss), with one torch thread. The checkpoint's cost per
edition is then composed as Σ (count of the part in that edition's event list) × (median seconds
of the part); ``--units`` per-unit removals are timed and scaled to ``units_per_checkpoint``,
``--recovery-steps`` steps timed and scaled to 50. The composition is a model (rescoring at a
pruned model is charged the unpruned model's scoring time, an over-estimate for both editions);
every study of edition 2 records its own measured ``part_seconds``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch


def _t(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(arch: str, seed: int, data_dir, reps: int, n_units: int, rec_steps: int, train_samples: int,
            root: Path) -> dict:
    from empirical import events as ev
    from empirical.events_units import hvp_many, select_units, unit_events
    from empirical.pruning import StructuredPruner
    from empirical.runner import prepare_data, resolve_device
    from gftheory import runstore
    from gftheory.importance import importance
    torch.set_num_threads(1)
    cfg1 = ev.EventConfig(arch=arch, seed=seed, checkpoints=(1,), edition=1, max_train_samples=train_samples,
                          recovery_steps=rec_steps, recovery_eval=(rec_steps,))
    cfg2 = ev.EventConfig(arch=arch, seed=seed, checkpoints=(1,), edition=2, max_train_samples=train_samples,
                          recovery_steps=rec_steps, recovery_eval=(rec_steps,))
    full1 = ev.EventConfig(arch=arch, seed=seed, edition=1)
    full2 = ev.EventConfig(arch=arch, seed=seed, edition=2)
    dev = resolve_device("cpu")
    splits = prepare_data(cfg1.training_config(), data_dir)
    run_dir = root / f"cost-{arch}-{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    st = ev.EventStudy(cfg2, run_dir, splits, dev, progress=False)
    st.probe_batch = st._fixed(splits.train_x, splits.train_y, cfg2.probe_size, seed * 7919 + 1)
    st.val_loader = st.loader(splits.val_x[:cfg2.val_size], splits.val_y[:cfg2.val_size], train=False, seed=0,
                              batch_size=500)
    t_traj = _t(st.trajectory)
    model = st.build_model()
    model.load_state_dict(runstore.load_checkpoint(run_dir / runstore.study_checkpoint(1))["model"])
    model.eval()
    batches = st.importance_batches(1)
    T = cfg2.temperature
    t: dict[str, list[float]] = {}

    def add(k, v):
        t.setdefault(k, []).append(v)

    # a 75 % model (magnitude's one-shot profile): recoveries and probes there are cheaper
    mag = importance(model, "magnitude", batches, unit="filter")
    pr75 = StructuredPruner(model, arch, target=0.75, rounds=1)
    m75, _ = pr75.prune_round(model, mag, 1)
    m75 = st._place(m75).eval()
    before = ev.probe(model, st.probe_batch, T, hessian=True, chunk=128)
    w = before["theta"].clone()
    w[torch.rand(w.shape, generator=torch.Generator().manual_seed(seed)) > 0.1] = 0   # a θ_S-sized vector
    for r in range(reps):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        for ed in order:
            ch = None if ed == 1 else 128
            add(f"probe_hvp_e{ed}", _t(lambda: ev.probe(model, st.probe_batch, T, hessian=True, chunk=ch)))
            add(f"probe_e{ed}", _t(lambda: ev.probe(model, st.probe_batch, T, hessian=False, chunk=ch)))
            add(f"probe75_e{ed}", _t(lambda: ev.probe(m75, st.probe_batch, T, hessian=False, chunk=ch)))
        add("train_mode_loss", _t(lambda: ev.probe(model, st.probe_batch, T, hessian=False, chunk=128,
                                                    train_mode=True)) - statistics.median(t["probe_e2"]))
        add("pair_hvp", _t(lambda: hvp_many(before["obj"], [w, w * 0.5], before["theta"])))
        add("val", _t(lambda: st._val_acc(model)))
        add("val75", _t(lambda: st._val_acc(m75)))
        st._mask_pruner = None
        add("recovery_step", _t(lambda: st._recover(model, 1)) / rec_steps)
        st._mask_pruner = pr75 if any(g.kind == "mask" for g in pr75.groups) else None
        add("recovery75_step", _t(lambda: st._recover(m75, 1)) / rec_steps)
        st._mask_pruner = None
        pr = StructuredPruner(model, arch, target=0.75, rounds=25)
        add("prune", _t(lambda: pr.prune_round(model, mag, 1)))
        for m in full1.measures:
            if r == 0 or m in ("grasp", "gradient_norm_preservation"):
                add(f"score_{m}", _t(lambda: importance(model, m, batches, unit="filter",
                                                         temperature=cfg2.importance_temperature(m), seed=0)))
        with torch.no_grad():
            pass
        model.train()
        add("score_train_grasp", _t(lambda: importance(model, "grasp", batches, unit="filter", temperature=200.0)))
        model.eval()
    # per-unit removals (edition 2 only): n_units timed, scaled
    prr = StructuredPruner(model, arch, target=0.75, rounds=25)
    us = select_units(prr, prr.unit_scores(model, mag),
                      prr.unit_scores(model, importance(model, "loss_preservation", batches, unit="filter",
                                                        temperature=T)), n_units)
    x, y = st.probe_batch
    add("units_block", _t(lambda: unit_events(model, prr, us, (x[:128], y[:128]), T, chunk=128)))
    med = {k: statistics.median(v) for k, v in t.items()}
    (root / f"cost-{arch}-{seed}.raw.json").write_text(json.dumps({"samples": t, "median": med}))
    return {"arch": arch, "seed": seed, "trajectory_seconds": t_traj, "reps": reps, "n_units_timed": n_units,
            "samples": t, "median": med,
            "compose": {"edition1": compose(full1, med, n_units), "edition2": compose(full2, med, n_units)}}


def compose(cfg, med: dict, n_units_timed: int) -> dict:
    """Seconds per part of one checkpoint of ``cfg`` (see the module docstring)."""
    from gftheory.measures import MEASURES
    ed = cfg.edition
    rec = med["recovery_step"] * cfg.recovery_steps
    rec75 = med["recovery75_step"] * cfg.recovery_steps
    ph, p, p75 = med[f"probe_hvp_e{ed}"], med[f"probe_e{ed}"], med[f"probe75_e{ed}"]
    tm = med["train_mode_loss"] if ed >= 2 else 0.0
    sc = lambda m: med.get(f"score_{m}", 0.0)             # noqa: E731
    parts = {k: 0.0 for k in ("scoring", "scoring_train_mode", "probe", "hvp", "val", "recovery", "units",
                              "prune")}
    hvp_cost = ph - p                                      # the Hg part of a probe with Hessian
    parts["probe"] += p + tm
    parts["hvp"] += hvp_cost
    parts["val"] += med["val"]
    parts["recovery"] += rec                               # control
    k_later = sum(k - 1 for k in cfg.later_rounds)
    for m in cfg.measures:
        parts["scoring"] += sc(m) * (1 + k_later)
        parts["prune"] += med["prune"] * (3 + k_later)
        # round1: probe after with Hg, val, recovery; small: probe, val; roundK: probe before (Hg)
        # + val before, probe after + val
        parts["probe"] += (p + tm) * (2 + 2 * len(cfg.later_rounds))
        parts["hvp"] += hvp_cost * (1 + len(cfg.later_rounds))
        parts["val"] += med["val"] * (2 + 2 * len(cfg.later_rounds))
        parts["recovery"] += rec
        if ed >= 2:
            parts["hvp"] += med["pair_hvp"] * (2 + len(cfg.later_rounds))   # θ_SᵀHθ_S: small, round1, roundK
            parts["probe"] += p75 + tm                                      # profile measured
            parts["val"] += med["val75"]
            parts["recovery"] += rec75
            if set(MEASURES[m].needs) & {"grad", "hvp", "grad_sq"}:
                parts["scoring_train_mode"] += med["score_train_grasp"] * sc(m) / max(sc("grasp"), 1e-9)
    if ed >= 2:
        parts["units"] += med["units_block"] * cfg.units_per_checkpoint / n_units_timed
        for _m in cfg.quota_arms():
            parts["prune"] += 4 * med["prune"]
            parts["probe"] += 2 * (p + tm) + p75 + tm
            parts["hvp"] += hvp_cost + med["pair_hvp"]
            parts["val"] += med["val"] + med["val75"]
            parts["recovery"] += rec + rec75
        for _m in cfg.layer_random_arms():
            parts["prune"] += 2 * (1 + cfg.random_draws) * med["prune"]
            parts["probe"] += cfg.random_draws * (p + tm + p75 + tm)
            parts["val"] += cfg.random_draws * (med["val"] + med["val75"])
            parts["recovery"] += cfg.random_recovery_draws * (rec + rec75)
    parts = {k: v for k, v in parts.items() if v}
    return {"part_seconds": parts, "total_seconds": sum(parts.values()),
            "events": len(cfg.events_per_checkpoint())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m empirical.events_cost", description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="resnet56")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=Path("/tmp/gftheory-events-cost"))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--units", type=int, default=10)
    ap.add_argument("--recovery-steps", type=int, default=10)
    ap.add_argument("--train-samples", type=int, default=2560)
    a = ap.parse_args(argv)
    if 3 <= a.seed <= 99:
        print("events_cost: seeds 3-99 are the confirmatory plan's; fix: use 0-2 or >= 100", file=sys.stderr)
        return 2
    if a.reps < 1 or a.units < 1 or a.recovery_steps < 1:
        print("events_cost: --reps, --units and --recovery-steps must be >= 1", file=sys.stderr)
        return 2
    res = measure(a.arch, a.seed, a.data_dir, a.reps, a.units, a.recovery_steps, a.train_samples, a.root)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(a.out.suffix + ".tmp")
    tmp.write_text(json.dumps(res, indent=1, sort_keys=True))
    tmp.replace(a.out)
    for e in ("edition1", "edition2"):
        c = res["compose"][e]
        print(f"{e}: {c['total_seconds'] / 60:.1f} min per checkpoint ({c['events']} events): "
              + ", ".join(f"{k} {v:.0f}s" for k, v in sorted(c["part_seconds"].items())))
    r = res["compose"]["edition2"]["total_seconds"] / res["compose"]["edition1"]["total_seconds"]
    print(f"ratio edition 2 / edition 1: {r:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
