"""How much the pruned set depends on the importance sample's size, on committed runs (issue 25):
the Jaccard overlap of the units removed with 256 importance images (stage 1, scale ``cpu``) and
with 2,560 (the authors' default, stage 2, scale ``cpu2``), at the first K pruning rounds.

For each committed run of a data-dependent measure (one whose ``needs`` include a gradient or a
Hessian-vector product; magnitude and random do not read the sample), its first K records are
replayed with the current code in a temporary store, one thread, at the run's own precision. At
every round k ≤ K, on the replay's pre-prune network:

- the run's own selection is made as the run made it, and the round must be the committed one
  (``same_event``: equal probe quantities before and after the prune, equal widths after it, and
  the equal ``removed`` set where the run recorded it — stage-1 runs did not); else the replay is
  not faithful: the run is reported "replay differs" and gives no overlap;
- the other sample size's scores are computed (the runner's own draw: the same generator, so the
  256-image sample is the first 256 images of the 2,560 drawn; a class-balanced Hessian sample is
  drawn per class as the runner draws it), the pruner's selection is made on copies of the network
  and the pruner (nothing is applied), and J = |A ∩ B| / |A ∪ B| over the removed units
  (group, index) is recorded. RNG states are restored around this extra work, so the replay goes
  on exactly as the run did (the faithfulness check at the next round tests that).

Descriptive; not a rule of the plan, never claim evidence. Writes a JSON (default
results/side/importance-sample-overlap/overlap.json) and prints one line per (arch, measure, round):
median and range of J over the runs.

    python scripts/importance_sample_overlap.py --data-dir DATA [--rounds 1] [--scales cpu,cpu2]
        [--arch resnet56] [--measures loss_preservation,...] [--max-runs N] [--json PATH] [--from-record]

``--from-record`` (round 1, runs that recorded ``removed``: cpu2) does not recompute the run's own
selection: the replay stops at round 1's pre-prune network, checked by the recorded pre-prune probe
quantities, and the recorded removed set is the run's own (``replay_overlap``).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gftheory import runstore  # noqa: E402

OTHER = {256: 2560, 2560: 256}
DEFAULT_JSON = REPO / "results" / "side" / "importance-sample-overlap" / "overlap.json"


def units(removed: dict) -> set:
    return {(g, int(i)) for g, idx in (removed or {}).items() for i in idx}


def jaccard(a: set, b: set) -> float | None:
    u = a | b
    return None if not u else len(a & b) / len(u)


def same_event(event: dict, rec: dict) -> bool:
    """The replayed round is the committed one: equal probe quantities before and after the prune
    (float-exact up to 1e-9 relative), equal widths after it, and the equal removed set where the
    run recorded it (stage-1 runs did not record ``removed``; their after-prune probe and widths
    pin it down)."""
    def close(x, y):
        if x is None or y is None:
            return x is y
        return abs(x - y) <= 1e-9 * (1 + abs(y))
    for side in ("before", "after"):
        a, b = event.get(side) or {}, rec.get(side) or {}
        if set(a) != set(b) or not all(close(a[q], b[q]) for q in b):
            return False
    if event.get("widths_after") != rec.get("widths_after"):
        return False
    return "removed" not in rec or units(event["removed"]) == units(rec["removed"])


def data_dependent(measure: str) -> bool:
    from gftheory.measures import MEASURES
    try:
        m = MEASURES.resolve(measure)
    except Exception:  # noqa: BLE001 - none / unknown: not scored
        return False
    return bool(set(m.needs) & {"grad", "hvp", "grad_sq"})


class _Stop(Exception):
    """Ends a ``from_record`` replay after round 1 (nothing after it is needed)."""


def same_network(before: dict, rec: dict) -> bool:
    """The replay's pre-prune probe quantities equal the recorded ones (float-exact up to 1e-9
    relative): the same network on the same probe."""
    want = rec.get("before") or {}
    return bool(want) and set(before) == set(want) and all(
        abs(before[q] - want[q]) <= 1e-9 * (1 + abs(want[q])) for q in want)


def replay_overlap(config: dict, recorded: list[dict], rounds: int, data_dir, other: int | None = None,
                   from_record: bool = False) -> dict:
    """Replay the run's first ``rounds`` records; per round the faithfulness check and J of the run's
    own sample against ``other`` images (default: 256 <-> 2,560).

    ``from_record`` (round 1 only; runs that recorded ``removed``): the run's own selection is not
    recomputed; the replay stops at round 1's pre-prune network, which must give the recorded
    pre-prune probe quantities exactly (``same_network``), and the run's own removed set is the
    recorded one. It skips the run's own scoring (2,560 images for a cpu2 run) and everything after
    round 1; ``faithful`` then means "the same pre-prune network", not the whole round."""
    import torch
    from empirical import runner
    from empirical.config import RunConfig

    cfg = RunConfig.from_canonical(config)
    n_run = cfg.importance_samples
    n_other = OTHER.get(n_run) if other is None else other
    if n_other is None:
        raise SystemExit(f"error: run {cfg.run_id()} scores on {n_run} images; fix: this script compares "
                         f"256 with 2,560 only")
    other_cfg = dataclasses.replace(cfg, importance_samples=n_other)
    rec_by_round = {e["round"]: e for e in recorded if e["kind"] == "prune_event"}
    dev = runner.resolve_device("cpu")
    previous = torch.get_num_threads()
    runner.fix_threads(cfg.cpu_threads)
    rows: list[dict] = []

    if from_record and rounds != 1:
        raise SystemExit(f"error: --from-record replays round 1 only (asked: {rounds}); fix: --rounds 1")
    rec1 = rec_by_round.get(1)
    if from_record and (rec1 is None or "removed" not in rec1):
        raise SystemExit(f"error: run {cfg.run_id()} did not record its removed units; fix: drop --from-record "
                         f"(the full replay recomputes its own selection)")

    class Replay(runner.Run):
        def prune(self, k, epoch):
            from gftheory.importance import importance
            from gftheory.state import preserved_modes
            t0 = time.perf_counter()
            state = runner.rng_state()
            model, pruner = copy.deepcopy(self.model), copy.deepcopy(self.pruner)
            own_cfg, self.cfg = self.cfg, other_cfg
            try:
                batches = self.importance_batches(k)
            finally:
                self.cfg = own_cfg
            with preserved_modes(model):
                model.eval()
                scores = importance(model, self.measure, batches, unit="filter",
                                    temperature=self.cfg.effective_importance_temperature,
                                    seed=self.cfg.seed * 1_000_003 + k)
            _, report = pruner.prune_round(model, scores, k)   # layer-matched arms are refused below
            other = units(report.removed)
            del model, pruner
            runner.set_rng_state(state)
            extra = time.perf_counter() - t0
            if from_record:
                from empirical.config import finite
                from empirical.probe import probe_quantities
                before = probe_quantities(self.model, self.probe, temperature=self.cfg.temperature)
                faithful = same_network({a: finite(b) for a, b in before.items()}, rec1)
                own = units(rec1["removed"])
                rows.append({"round": k, "faithful": faithful, "check": "pre-prune network (from record)",
                             "removed": len(own),
                             f"jaccard_{n_run}_vs_{n_other}": jaccard(own, other) if faithful else None,
                             "other_seconds": extra, "own_score_seconds": rec1.get("score_seconds")})
                raise _Stop
            event = super().prune(k, epoch)
            own = units(event["removed"])
            rec = rec_by_round.get(k)
            faithful = rec is not None and same_event(event, rec)
            own_minus = recorded_minus = None
            if rec is not None and "removed" in rec:
                want = units(rec["removed"])
                own_minus, recorded_minus = len(own - want), len(want - own)
            rows.append({"round": k, "faithful": faithful, "own_minus_recorded": own_minus,
                         "recorded_minus_own": recorded_minus, "removed": len(own),
                         f"jaccard_{n_run}_vs_{n_other}": jaccard(own, other) if faithful else None,
                         "other_seconds": extra, "own_score_seconds": event["score_seconds"]})
            return event

    splits = runner.prepare_data(cfg, data_dir)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(tmp) / cfg.run_id()
            run_dir.mkdir()
            if cfg.quota_from is not None:
                raise SystemExit(f"error: {cfg.run_id()} is a layer-matched arm; fix: pass --measures without "
                                 "'@' arms (their quota source run is not replayed here)")
            r = Replay(cfg, run_dir, splits, dev, progress=False)
            r.records = [x for x in r.records if x[0] == "prune" and x[1] <= rounds]
            try:
                r.execute()
            except _Stop:
                pass
    finally:
        torch.set_num_threads(previous)
    return {"run_id": cfg.run_id(), "arch": cfg.arch, "measure": cfg.measure, "seed": cfg.seed,
            "scale": cfg.scale, "importance_samples": n_run, "other_samples": n_other, "rounds": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--results", type=Path, default=REPO / "results")
    p.add_argument("--scales", default="cpu,cpu2")
    p.add_argument("--arch", default=None)
    p.add_argument("--measures", default=None, help="comma-separated (default: every data-dependent measure)")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--max-runs", type=int, default=None)
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    p.add_argument("--from-record", action="store_true",
                   help="round 1 only: take the run's own selection from its record (checked by its pre-prune "
                        "probe) instead of recomputing it; for runs that recorded 'removed' (cpu2)")
    a = p.parse_args(argv)
    if a.from_record and a.rounds != 1:
        print(f"error: --from-record with --rounds {a.rounds}; fix: --rounds 1", file=sys.stderr)
        return 2
    if a.rounds < 1:
        print(f"error: --rounds {a.rounds}; fix: give 1 or more", file=sys.stderr)
        return 2
    if not (a.data_dir / "cifar-10-batches-py").is_dir():
        print(f"error: no cifar-10-batches-py/ under {a.data_dir}; fix: --data-dir the folder that holds it",
              file=sys.stderr)
        return 2
    from gftheory.atomic import atomic_write_json, check_output_file
    from gftheory.errors import UsageError
    try:
        check_output_file("--json", a.json)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    wanted = set(a.measures.split(",")) if a.measures else None
    todo = []
    for scale in a.scales.split(","):
        for d in sorted((a.results / scale).glob("*")):
            if not runstore.is_complete(d):
                continue
            c = runstore.read_config(d)["config"]
            if c.get("quota_from") or not data_dependent(c["measure"]):
                continue
            if (a.arch and c["arch"] != a.arch) or (wanted and c["measure"] not in wanted):
                continue
            todo.append((d, c))
    todo.sort(key=lambda t: (t[1]["scale"], t[1]["arch"], t[1]["measure"], t[1]["seed"]))
    if a.max_runs is not None:
        todo = todo[:a.max_runs]
    out = []
    for d, c in todo:
        t0 = time.perf_counter()
        res = replay_overlap(c, runstore.read_metrics(d), a.rounds, a.data_dir, from_record=a.from_record)
        res["replay_seconds"] = time.perf_counter() - t0
        out.append(res)
        print(f"{c['scale']:5s} {c['arch']:13s} {c['measure']:30s} s{c['seed']:<3d} "
              + " ".join(f"r{r['round']}:" + ("replay differs" if not r["faithful"] else
                                              f"J={next(v for k, v in r.items() if k.startswith('jaccard')):.3f}")
                         for r in res["rounds"]) + f"  ({res['replay_seconds']:.0f} s)", flush=True)
    summary = []
    keys = sorted({(r["scale"], r["arch"], r["measure"], x["round"]) for r in out for x in r["rounds"]})
    for scale, arch, measure, k in keys:
        vals = [v for r in out if (r["scale"], r["arch"], r["measure"]) == (scale, arch, measure)
                for x in r["rounds"] if x["round"] == k and x["faithful"]
                for key, v in x.items() if key.startswith("jaccard")]
        unfaithful = sum(1 for r in out if (r["scale"], r["arch"], r["measure"]) == (scale, arch, measure)
                         for x in r["rounds"] if x["round"] == k and not x["faithful"])
        summary.append({"scale": scale, "arch": arch, "measure": measure, "round": k, "n": len(vals),
                        "replay_differs": unfaithful,
                        "median": statistics.median(vals) if vals else None,
                        "min": min(vals) if vals else None, "max": max(vals) if vals else None})
    print("\nscale  arch          measure                        round  n  median J  [min, max]")
    for s in summary:
        rng = "-" if s["n"] == 0 else f"{s['median']:.3f}  [{s['min']:.3f}, {s['max']:.3f}]"
        print(f"{s['scale']:5s}  {s['arch']:13s} {s['measure']:30s} {s['round']:5d} {s['n']:2d}  {rng}"
              + (f"  ({s['replay_differs']} replay differs)" if s["replay_differs"] else ""))
    import platform
    import torch
    doc = {"what": "Jaccard of the removed units, run's own sample size vs the other (256 <-> 2,560), "
                   "on the run's replayed pre-prune network; descriptive side measurement (issue 25)",
           "command": "python scripts/importance_sample_overlap.py " + " ".join(argv or sys.argv[1:]),
           "torch": torch.__version__, "machine": platform.machine(), "runs": out, "summary": summary}
    atomic_write_json(a.json, doc, indent=1)
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
