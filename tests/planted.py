"""Planted (synthetic) run directories and event studies for the tests of the verdict logic and
the report, written through the run store's writer (gftheory.runstore), as real runs are, so the
two cannot drift apart. Values are planted, never presented as results: every config carries
``"synthetic": true`` and the summary's eval_data says so; ``load_runs`` sets such runs aside
unless ``allow_planted=True``, and a report built on them carries a banner.

Tests import it as ``from planted import plant`` (tests/ is on sys.path under pytest)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from gftheory import runstore

LAYERS = [f"layer{i}.weight" for i in range(9)]


def write_run(root, *, arch="resnet56", dataset="cifar10", measure="magnitude", seed=0, scale="full",
              final_acc=90.0, train_loss=0.5, rounds=3, train_epochs=4, eval_key="test_acc",
              d_theta_g=0.1, d_loss=0.05, d_grad_norm_sq=0.01, d_theta_hvp=0.0, early_keep=0.5, complete=True,
              converge=1.0, extra_config=None, first_loss=None, fingerprint=None, lrs=None,
              seconds: float = 1.0) -> Path:
    """One run directory: config.json, metrics.jsonl (epoch + prune_event records), summary.json.

    ``final_acc`` is the final accuracy in percent (written as a fraction, as the engine writes
    every accuracy); ``train_loss`` the level of the final-training loss curve;
    ``d_*`` the after − before changes at every pruning event; ``early_keep`` the fraction of the
    first third of the layers left after the last round; ``converge`` the fraction of the
    final-training epochs after which the curves are flat (smaller = faster convergence).
    Pairing (rules v4): ``first_loss`` replaces the first record's train loss and the first prune
    event's before-loss (the stage-1 fallback fingerprint; default 2.0 for every seed and measure);
    ``fingerprint`` is written as summary.json's "fingerprint" (a recorded one); ``lrs`` gives the
    final-training epochs' learning rates (default 0.1 each); ``seconds`` the summary's seconds."""
    config = {"arch": arch, "dataset": dataset, "measure": measure, "seed": seed, "scale": scale,
              "rounds": rounds, "target": 0.75, "synthetic": True, **(extra_config or {})}
    run_id = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    d = Path(root) / run_id
    prov = {"code_version": "synthetic", "device": "none", "time_utc": "2026-01-01T00:00:00+00:00"}
    runstore.write_config(d, {"run_id": run_id, "config": config, "deviations": [], "provenance": prov})
    widths0 = {n: 64 for n in LAYERS}
    k = len(LAYERS) // 3
    final_w = {n: (max(1, int(64 * early_keep)) if i < k else 16) for i, n in enumerate(LAYERS)}
    recs = []
    other = "val_acc" if eval_key == "test_acc" else "test_acc"
    epoch = 0
    widths = dict(widths0)
    for r in range(1, rounds + 1):
        epoch += 1
        recs.append({"kind": "epoch", "epoch": epoch, "data_epochs": epoch, "phase": "prune", "lr": 0.1,
                     "train_loss": first_loss if (r == 1 and first_loss is not None) else 2.0 / r,
                     "train_acc": 0.30, eval_key: (30.0 + r) / 100, other: None, "seconds": 1.0})
        after_w = {n: int(widths0[n] + (final_w[n] - widths0[n]) * r / rounds) for n in LAYERS}
        before = {"loss": first_loss if (r == 1 and first_loss is not None) else 2.0 / r, "norm_sq": 100.0, "theta_dot_grad": 1.0, "grad_norm_sq": 0.5, "theta_dot_hvp": 0.1}
        after = {"loss": before["loss"] + d_loss, "norm_sq": 90.0, "theta_dot_grad": 1.0 + d_theta_g,
                 "grad_norm_sq": 0.5 + d_grad_norm_sq, "theta_dot_hvp": 0.1 + d_theta_hvp}
        recs.append({"kind": "prune_event", "round": r, "epoch": epoch, "measure": measure, "before": before,
                     "after": after, "widths_before": widths, "widths_after": after_w, "params": 1000, "flops": 10000,
                     "channel_sparsity": 0.75 * r / rounds, "param_sparsity": 0.7, "flop_sparsity": 0.6,
                     "target_channel_sparsity": 0.75 * r / rounds, "score_seconds": 0.1})
        widths = after_w
    for e in range(train_epochs):
        epoch += 1
        left = max(0.0, 1 - (e + 1) / (train_epochs * converge))   # share of the change still to come
        recs.append({"kind": "epoch", "epoch": epoch, "data_epochs": epoch, "phase": "train",
                     "lr": lrs[e] if lrs is not None else 0.1,
                     "train_loss": train_loss * (1 + left),
                     "train_acc": 0.80, eval_key: (final_acc - 5 * left) / 100, other: None, "seconds": 1.0})
    runstore.write_metrics(d, recs)
    if complete:
        final = {"train_loss": train_loss, "train_acc": 0.80, "val_acc": None, "test_acc": None}
        final[eval_key] = final_acc / 100
        runstore.write_summary(d, {
            "run_id": run_id, "config": config, "complete": True, "epochs": epoch, "seconds": seconds, "final": final,
            "best": {"epoch": epoch, "val_acc": final.get("val_acc"), "test_acc": final.get("test_acc")},
            "eval_data": "synthetic (planted values)" if eval_key == "test_acc" else "synthetic held-out",
            "provenance": prov, **({"fingerprint": fingerprint} if fingerprint is not None else {})})
    return d


def plant(root, *, measures: dict, seeds=3, arch="resnet56", dataset="cifar10", scale="full", noise=0.3,
          rng_seed=0, first_seed=0, seed_effect=0.0, seed_fallback=False, **common) -> list[Path]:
    """Runs for several measures: ``measures`` maps a measure to keyword overrides of ``write_run``
    (e.g. {"magnitude": {"final_acc": 91}}); ``noise`` (sd) is added to final_acc, train_loss and
    the event changes (× 0.1) and ``converge`` (× 0.01), seeded; seeds first_seed.. first_seed + seeds − 1.
    ``seed_effect`` (sd) adds one shift per seed to every measure's final_acc (what a shared
    initialisation and data order do; paired analysis cancels it); ``seed_fallback`` gives every seed
    its own first loss (the stage-1 fallback fingerprint: equal across measures of a seed)."""
    rng = np.random.default_rng(rng_seed)
    shift = {s: float(np.random.default_rng(10_000 + rng_seed * 101 + s).normal(0, seed_effect)) if seed_effect else 0.0
             for s in range(first_seed, first_seed + seeds)}
    out = []
    for m, kw in measures.items():
        for s in range(first_seed, first_seed + seeds):
            args = {"converge": 1.0, **common, **kw}
            if seed_fallback and "first_loss" not in args:
                args["first_loss"] = 2.0 + 0.001 * s
            if "final_acc" in args:
                args["final_acc"] = float(args["final_acc"]) + shift[s]
            for key in ("final_acc", "train_loss", "d_theta_g", "d_loss", "d_grad_norm_sq", "d_theta_hvp",
                        "early_keep", "converge"):
                if key in args:
                    scale_ = {"final_acc": 1.0, "converge": 0.01}.get(key, 0.1)
                    args[key] = float(args[key]) + float(rng.normal(0, noise)) * scale_
            out.append(write_run(root, arch=arch, dataset=dataset, measure=m, seed=s, scale=scale, **args))
    return out


def write_event_study(root, *, arch="resnet56", dataset="cifar10", seed=0, measures: dict,
                      checkpoints=(1, 3), seed_shift=0.0, pred_noise=0.0, rng_seed=0, complete=True,
                      seconds: float = 1.0, trajectory_seconds=(), event_seconds: float | None = None) -> Path:
    """One planted event study in the event-study layout (config.json with "kind":
    "event_study", events.jsonl, summary.json). ``measures`` maps a measure to its planted
    changes at the round-1 event: {"d_loss", "d_theta_g", "d_grad_norm_sq", "d_theta_hvp",
    "recovery_loss", "early_keep"}; ``seed_shift`` is added to every measure's ΔL and recovery loss
    in this study (a between-seed offset that a paired comparison cancels); predictions are the
    actual changes times (1 + N(0, pred_noise)), for T1/T2 at scale. ``trajectory_seconds``: one
    ``trajectory_epoch`` record per entry with those seconds; ``event_seconds``: the seconds recorded
    on every event record (none recorded when None)."""
    rng = np.random.default_rng(rng_seed * 1009 + seed)
    config = {"kind": runstore.EVENT_STUDY, "arch": arch, "dataset": dataset, "seed": seed, "checkpoints": list(checkpoints),
              "measures": list(measures), "synthetic": True}
    run_id = "ev-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:13]
    d = Path(root) / run_id
    prov = {"code_version": "synthetic", "device": "none", "time_utc": "2026-01-01T00:00:00+00:00"}
    runstore.write_config(d, {"run_id": run_id, "kind": runstore.EVENT_STUDY, "config": config, "provenance": prov})
    widths0 = {n: 64 for n in LAYERS}
    k = len(LAYERS) // 3
    recs = []
    for e in checkpoints:
        before = {"loss": 2.0, "norm_sq": 100.0, "theta_dot_grad": 1.0, "grad_norm_sq": 0.5, "theta_dot_hvp": 0.1}
        recs.append({"kind": "event", "checkpoint": e, "measure": "none", "event": "control", "before": before,
                     "recovery": {"steps": [0, 50], "probe_loss": [2.0, 1.5]}})
        for m, kw in measures.items():
            for ev, scale in (("round1", 1.0), ("small", 0.1), ("round5", 1.0)):
                dl = (kw.get("d_loss", 0.05) + seed_shift) * scale * (1 + 0.05 * rng.normal())
                dg = kw.get("d_grad_norm_sq", 0.01) * scale * (1 + 0.05 * rng.normal())
                after = {"loss": before["loss"] + dl, "norm_sq": 90.0,
                         "theta_dot_grad": before["theta_dot_grad"]
                         + kw.get("d_theta_g", 0.1) * scale * (1 + 0.05 * rng.normal()),
                         "grad_norm_sq": before["grad_norm_sq"] + dg,
                         "theta_dot_hvp": before["theta_dot_hvp"] + kw.get("d_theta_hvp", 0.0) * scale}
                pred = {"dloss_weights": dl * (1 + pred_noise * rng.normal()),
                        "dgrad_norm_sq_weights": dg * (1 + pred_noise * rng.normal())}
                rec = {"kind": "event", "checkpoint": e, "measure": m, "event": ev, "before": before,
                       "after": after, "pred": pred}
                if ev == "round1":
                    rec["recovery"] = {"steps": [0, 50], "probe_loss": [
                        2.0 + dl, 1.5 + kw.get("recovery_loss", 0.0) + seed_shift + 0.005 * rng.normal()]}
                recs.append(rec)
            keep = kw.get("early_keep", 0.5)
            recs.append({"kind": "event", "checkpoint": e, "measure": m, "event": "profile",
                         "original_widths": widths0, "widths_before": widths0,
                         "widths_after": {n: (max(1, int(64 * keep)) if i < k else 16) for i, n in enumerate(LAYERS)}})
    if event_seconds is not None:
        recs = [{**r, "seconds": event_seconds} for r in recs]
    recs = [{"kind": "trajectory_epoch", "epoch": i + 1, "seconds": t} for i, t in enumerate(trajectory_seconds)] + recs
    runstore.write_events(d, recs)
    if complete:
        runstore.write_summary(d, {"run_id": run_id, "kind": runstore.EVENT_STUDY, "config": config,
                                   "complete": True, "events": len(recs), "seconds": seconds,
                                   "eval_data": "synthetic held-out", "provenance": prov})
    return d


def write_event_study_v2(root, *, arch="resnet56", dataset="cifar10", seed=0, checkpoints=(1, 3),
                         measures: dict | None = None, unit_agreement: float = 1.0, n_units: int = 20,
                         so_agreement: float = 1.0, fo_agreement: float = 0.0, quota: dict | None = None,
                         layer_random: dict | None = None, draws: int = 3, seed_shift: float = 0.0,
                         rng_seed: int = 0) -> Path:
    """One planted edition-2 event study (the fields empirical.events / events_units write):
    ``measures`` maps a measure to {"d_loss", "d_grad_norm_sq", "recovery_loss"} at its round-1 event;
    per checkpoint one ``units`` record of ``n_units`` single-unit removals whose predictions are
    ``unit_agreement`` × actual + (1 − ``unit_agreement``) × noise (both removal sets); round-1
    predictions: first order = ``fo_agreement`` × actual + (1 − ``fo_agreement``) × noise, second order
    likewise with ``so_agreement``; ``quota`` maps a quota arm's measure to its planted changes
    (events round1_quota / profile_quota, reference magnitude); ``layer_random`` maps a matched measure
    to the planted changes of its random draws (events round1_layer_random, ``draws`` draws, the
    first with the recovery). ``seed_shift`` is added to every ΔL (a paired comparison cancels it)."""
    rng = np.random.default_rng(rng_seed * 1009 + seed)
    measures = measures or {"magnitude": {}}
    config = {"kind": runstore.EVENT_STUDY, "arch": arch, "dataset": dataset, "seed": seed,
              "checkpoints": list(checkpoints), "measures": list(measures), "edition": 2,
              "quota_reference": "magnitude", "synthetic": True}
    run_id = "ev-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:13]
    d = Path(root) / run_id
    prov = {"code_version": "synthetic", "device": "none", "time_utc": "2026-01-01T00:00:00+00:00"}
    runstore.write_config(d, {"run_id": run_id, "kind": runstore.EVENT_STUDY, "config": config, "provenance": prov})
    widths0 = {n: 64 for n in LAYERS}

    def mix(actual, agreement):
        return agreement * actual + (1 - agreement) * float(rng.normal(0, 0.05))

    def event(m, ev, kw, e, before):
        dl = (kw.get("d_loss", 0.05) + seed_shift) * (1 + 0.05 * rng.normal())
        dg = kw.get("d_grad_norm_sq", 0.01) * (1 + 0.05 * rng.normal())
        after = {"loss": before["loss"] + dl, "norm_sq": 90.0, "theta_dot_grad": 1.0,
                 "grad_norm_sq": before["grad_norm_sq"] + dg, "theta_dot_hvp": 0.1}
        pred = {"dloss_weights": mix(dl, fo_agreement), "dgrad_norm_sq_weights": mix(dg, fo_agreement),
                "dloss_weights_second_order": mix(dl, so_agreement), "theta_hess_theta_weights": 0.1}
        return {"kind": "event", "checkpoint": e, "measure": m, "event": ev, "before": before, "after": after,
                "pred": pred, "edition": 2,
                "recovery": {"steps": [0, 50], "probe_loss": [2.0 + dl, 1.5 + kw.get("recovery_loss", 0.0)
                                                              + seed_shift + 0.005 * rng.normal()]}}

    recs = []
    for e in checkpoints:
        before = {"loss": 2.0, "norm_sq": 100.0, "theta_dot_grad": 1.0, "grad_norm_sq": 0.5, "theta_dot_hvp": 0.1}
        recs.append({"kind": "event", "checkpoint": e, "measure": "none", "event": "control", "before": before,
                     "recovery": {"steps": [0, 50], "probe_loss": [2.0, 1.5]}})
        units = []
        for i in range(n_units):
            u = {"group": LAYERS[i % len(LAYERS)], "index": i, "panel": "layout"}
            for s in ("weights", "channel"):
                dl, dg = float(rng.lognormal(-3, 1)), float(rng.normal(0, 0.05))
                u[s] = {"removed_norm_sq": 1.0, "pred_dloss": mix(dl, unit_agreement),
                        "pred_dgrad_norm_sq": mix(dg, unit_agreement), "dloss": dl, "dgrad_norm_sq": dg,
                        "dgrad_norm_sq_surviving": dg, "n_params": 10}
            units.append(u)
        recs.append({"kind": "event", "checkpoint": e, "measure": "none", "event": "units", "before": before,
                     "units": units, "n_units": n_units, "edition": 2})
        for m, kw in measures.items():
            recs.append(event(m, "round1", kw, e, before))
            recs.append({"kind": "event", "checkpoint": e, "measure": m, "event": "profile",
                         "original_widths": widths0, "widths_after": {n: 16 for n in LAYERS}})
        for m, kw in (quota or {}).items():
            recs.append({**event(m, "round1_quota", kw, e, before), "quota_reference": "magnitude"})
        for m, kw in (layer_random or {}).items():
            ds = []
            for k in range(draws):
                r = event(m, "round1", kw, e, before)
                ds.append({"draw": k, "after": r["after"], "pred": r["pred"],
                           **({"recovery": r["recovery"]} if k == 0 else {})})
            recs.append({"kind": "event", "checkpoint": e, "measure": m, "event": "round1_layer_random",
                         "before": before, "matched_measure": m, "matched_event": "round1", "draws": ds,
                         "n_draws": draws, "mean": {}})
    runstore.write_events(d, recs)
    runstore.write_summary(d, {"run_id": run_id, "kind": runstore.EVENT_STUDY, "config": config, "complete": True,
                               "events": len(recs), "seconds": 1.0, "edition": 2, "eval_data": "synthetic held-out",
                               "provenance": prov})
    return d
