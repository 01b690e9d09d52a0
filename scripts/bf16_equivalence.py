"""The pre-registered bf16/fp32 equivalence check (results/plans/bf16-equivalence.json), analysed
exactly as registered. Reads the fp32 side (stage-1 cpu runs) and the bf16 side
(results/side/bf16-equivalence/), proves each pair's pairing, and prints / writes:

* primary: mean over pairs of d = 100·(val_acc_bf16 − val_acc_fp32) (final held-out accuracy in
  points), its 90 % t interval (n − 1 df) and the TOST decision: *equivalent* iff the interval lies
  inside (−margin, +margin) — each one-sided test at α = 0.05;
* secondary (descriptive): per (arch, measure) stratum; the interaction (magnitude − dense under
  bf16) − (magnitude − dense under fp32) per architecture, paired by seed; the layer-profile overlap
  Σ_l min(w_bf16, w_fp32) / Σ_l max(w_bf16, w_fp32) after every round of the magnitude pairs; the
  wall-seconds ratio bf16 / fp32 per pair (both sides ran two runs on two cores);
* pairing proof per pair (``--replay``, needs the CIFAR data): a fresh fp32 replay of the first
  record (round 1's steps, scoring and pruning) by the current code must reproduce the stored fp32
  run's epoch-1 train_loss (and round-1 pre-prune probe loss) bit for bit, and its fingerprint must
  equal the bf16 run's recorded fingerprint. Without ``--replay`` only the fingerprint of the bf16
  run is shown and the pairing is reported as *not proven*; the decision then says so.

    python scripts/bf16_equivalence.py --results results --plan results/plans/bf16-equivalence.json \
        [--replay --data-dir DATA] [--json results/side/bf16-equivalence/analysis.json]

Incomplete designs (a pair missing) are reported as such with k of n; nothing is decided on them.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gftheory import runstore  # noqa: E402


def find_run(results: Path, run_id: str) -> Path | None:
    hits = [p.parent for p in results.rglob(f"{run_id}/{runstore.CONFIG}")]
    hits = [h for h in hits if runstore.is_complete(h)]
    return hits[0] if hits else None


def interval(d: list[float], level: float = 0.90) -> dict:
    """Mean, sd and the two-sided t interval (gftheory.claims.stats) of the paired differences."""
    from gftheory.claims.stats import describe, t_interval
    desc = describe(d)
    if desc["n"] < 2:
        return {"n": desc["n"], "mean": desc["mean"], "low": None, "high": None, "sd": None}
    ci = t_interval(d, level)
    return {"n": desc["n"], "mean": ci.estimate, "sd": desc["std"], "low": ci.low, "high": ci.high}


def replay_first_record(config: dict, data_dir) -> dict:
    """Run the fp32 config's first record (round 1) with the current code in a temporary store;
    return its epoch-1 train_loss, its round-1 pre-prune probe loss and its fingerprint."""
    from empirical.config import RunConfig
    from empirical import runner
    import torch
    torch.set_num_threads(1)          # as every stored cpu run: one thread per process
    cfg = RunConfig.from_canonical(config)
    dev = runner.resolve_device("cpu")
    splits = runner.prepare_data(cfg, data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / cfg.run_id()
        run_dir.mkdir()
        r = runner.Run(cfg, run_dir, splits, dev, progress=False)
        r.records = r.records[:1]
        r.execute()
        metrics = runstore.read_metrics(run_dir)
        summary = runstore.read_summary(run_dir)
    ep = next(m for m in metrics if m["kind"] == "epoch")
    ev = next((m for m in metrics if m["kind"] == "prune_event"), None)
    return {"train_loss": ep["train_loss"], "probe_loss": None if ev is None else ev["before"]["loss"],
            "fingerprint": summary["fingerprint"]}


def profile_overlap(ma: list[dict], mb: list[dict]) -> list[float]:
    ea = {m["round"]: m for m in ma if m["kind"] == "prune_event"}
    eb = {m["round"]: m for m in mb if m["kind"] == "prune_event"}
    out = []
    for k in sorted(set(ea) & set(eb)):
        wa, wb = ea[k]["widths_after"], eb[k]["widths_after"]
        num = sum(min(wa[l], wb.get(l, 0)) for l in wa)
        den = sum(max(wa[l], wb.get(l, 0)) for l in set(wa) | set(wb))
        out.append(num / den if den else 1.0)
    return out


def analyse(results: Path, plan: dict, replay: bool, data_dir) -> dict:
    pairs, missing = [], []
    for p in plan["pairs"]:
        fa, fb = find_run(results, p["fp32_run"]), find_run(results, p["bf16_run"])
        if fa is None or fb is None:
            missing.append({**p, "missing": [s for s, x in (("fp32", fa), ("bf16", fb)) if x is None]})
            continue
        sa, sb = runstore.read_summary(fa), runstore.read_summary(fb)
        row = {**p, "acc_fp32": 100 * sa["final"]["val_acc"], "acc_bf16": 100 * sb["final"]["val_acc"],
               "seconds_fp32": sa["seconds"], "seconds_bf16": sb["seconds"],
               "precision_fp32": sa.get("precision"), "precision_bf16": sb.get("precision"),
               "fingerprint_bf16": sb.get("fingerprint"),
               "bf16_cpu_features": (sb.get("provenance") or {}).get("cpu_features")}
        row["d"] = row["acc_bf16"] - row["acc_fp32"]
        if p["measure"] == "magnitude":
            row["profile_overlap"] = profile_overlap(runstore.read_metrics(fa), runstore.read_metrics(fb))
        if replay:
            rep = replay_first_record(runstore.read_config(fa)["config"], data_dir)
            first = next(m for m in runstore.read_metrics(fa) if m["kind"] == "epoch")
            ev = next((m for m in runstore.read_metrics(fa) if m["kind"] == "prune_event"), None)
            row["replay"] = rep
            row["paired_proven"] = bool(
                rep["train_loss"] == first["train_loss"]
                and (ev is None or rep["probe_loss"] == ev["before"]["loss"])
                and row["fingerprint_bf16"] is not None
                and {k: rep["fingerprint"][k] for k in ("init", "data_order", "probe")}
                == {k: row["fingerprint_bf16"][k] for k in ("init", "data_order", "probe")})
        else:
            row["paired_proven"] = None
        pairs.append(row)
    margin = plan["primary"]["margin_points"]
    used = [r for r in pairs if r["paired_proven"] is not False]
    out = {"registration_digest": plan["digest"], "margin_points": margin, "pairs": pairs, "missing": missing,
           "excluded_unpaired": [r["bf16_run"] for r in pairs if r["paired_proven"] is False],
           "n_planned": len(plan["pairs"])}
    if missing:
        out["primary"] = None
        out["verdict"] = f"incomplete ({len(pairs)} of {len(plan['pairs'])} pairs)"
        return out
    prim = interval([r["d"] for r in used])
    out["primary"] = prim
    if prim["low"] is None:
        out["verdict"] = "insufficient"
    elif -margin < prim["low"] and prim["high"] < margin:
        out["verdict"] = "equivalent"
    else:
        out["verdict"] = "not shown equivalent"
    if any(r["paired_proven"] is None for r in used):
        out["verdict"] += " (pairing not proven: run with --replay)"
    strata = {}
    for r in used:
        strata.setdefault(f"{r['arch']}/{r['measure']}", []).append(r["d"])
    out["strata"] = {k: interval(v) for k, v in strata.items()}
    inter = {}
    for arch in sorted({r["arch"] for r in used}):
        by = {(r["measure"], r["seed"]): r["d"] for r in used if r["arch"] == arch}
        seeds = sorted({s for (m, s) in by if (("magnitude", s) in by and ("none", s) in by)})
        inter[arch] = interval([by[("magnitude", s)] - by[("none", s)] for s in seeds]) if seeds else None
    out["interaction_magnitude_minus_dense"] = inter
    out["seconds_ratio_bf16_over_fp32"] = {f"{r['arch']}/{r['measure']}/s{r['seed']}": r["seconds_bf16"] / r["seconds_fp32"]
                                           for r in used}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=REPO / "results")
    p.add_argument("--plan", type=Path, default=REPO / "results" / "plans" / "bf16-equivalence.json")
    p.add_argument("--replay", action="store_true")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    for what, path in (("--results", a.results), ("--plan", a.plan)):
        if not path.exists():
            print(f"error: {what} {path} does not exist; fix: give the results folder and the registration file",
                  file=sys.stderr)
            return 2
    plan = json.loads(a.plan.read_text())
    out = analyse(a.results, plan, a.replay, a.data_dir)
    print(f"bf16 equivalence (registration {out['registration_digest']}, margin ±{out['margin_points']} points): "
          f"{out['verdict']}")
    if out.get("primary"):
        pr = out["primary"]
        print(f"  primary: mean d = {pr['mean']:+.2f} points, sd {pr['sd']:.2f}, n = {pr['n']}, "
              f"90 % interval [{pr['low']:+.2f}, {pr['high']:+.2f}]")
        for k, v in out["strata"].items():
            lo = "" if v["low"] is None else f" [{v['low']:+.2f}, {v['high']:+.2f}]"
            print(f"  {k:28s} mean d {v['mean']:+.2f}{lo} (n = {v['n']})")
        for k, v in out["interaction_magnitude_minus_dense"].items():
            if v and v["low"] is not None:
                print(f"  interaction {k}: {v['mean']:+.2f} [{v['low']:+.2f}, {v['high']:+.2f}]")
    for m in out["missing"]:
        print(f"  missing: {m['arch']}/{m['measure']}/s{m['seed']} ({', '.join(m['missing'])})")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = a.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        tmp.replace(a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
