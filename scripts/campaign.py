"""Run a named evidence campaign (a fixed, ordered grid of prune-while-training runs) and collect
each completed run into results/ as soon as it finishes.

    python scripts/campaign.py run resnet56-cpu --root /work/runs --jobs 2 --data-dir DATA
    python scripts/campaign.py run resnet56-cpu mobilenet_v1-cpu ...   (one after another)
    python scripts/campaign.py collect --root /work/runs --dest results [--commit]
    python scripts/campaign.py list resnet56-cpu
    python scripts/campaign.py stash --root /work/runs --commit   (before a session ends)
    python scripts/campaign.py run stage2-cpu2 --root /work/runs --jobs 2 --data-dir DATA

``run`` is `gftheory sweep` over the campaign's configs (completed runs skipped, killed runs
resumed, one torch thread per run on CPU). ``collect`` copies config.json, metrics.jsonl and
summary.json (never checkpoints) of every *completed* run under --root into --dest/<scale>/<run_id>/
(event studies: --dest/events/<id>/, with events.jsonl), and
with --commit makes one git commit per newly collected run (only those paths). The order of a
campaign is its priority: the comparisons the paper's headline claims need come first.

``stage2-cpu2`` (issue 25) is generated from the committed plan file results/plans/stage2.json
(``gftheory plan``): the unique (arch, measure, seed) runs of its cells with status "planned" and
scale "cpu2", at the plan's ``protocol.cpu2.precision``; ordered by architecture (as the plan
first names it), then seed-major (seeds in the plan's order, so each seed's pairs complete
early), the layer-matched arms (a measure written "MEASURE@SOURCE", or {"measure": M,
"quota_from": S}) after the ordinary runs of their seed, each arm's source run added if no cell
names it. It refuses (exit 2, nothing started) when the plan file is absent, not committed, changed
since its commit, or written under other rules (``rules_digest`` ≠ gftheory.claims.rules.rules_digest()).
``stage2-events`` runs the plan's event studies when the event study has an ``edition`` field.

A session's machine may not be the next session's: the run store (and every checkpoint in it) can be
gone. ``run`` skips what is already complete in results/, and first restores the unfinished event
studies that ``stash`` committed to inflight/<id>/ (config.json and events.jsonl only); the study
then recomputes its trajectory, proves it bit-identical to the recorded one (loss per epoch,
weights sha256 at each checkpoint epoch) and measures only the events still missing. ``collect`` removes a study's inflight/
copy in the commit that adds its results.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from empirical.config import RunConfig  # noqa: E402
from gftheory import runstore  # noqa: E402

# measure pairs in priority order: E1/E2 (Figure 1), E5, E7 + the paper's Eq. 3, E3 + dense baseline
CPU_PAIRS = (("magnitude", "loss_preservation_elementwise"), ("grasp", "gradient_norm_preservation"),
             ("random", "loss_preservation"), ("biased_loss_preservation", "none"))
SEEDS = (0, 1, 2)


def cpu_grid(arch: str) -> list[RunConfig]:
    out = []
    for pair in CPU_PAIRS:
        for seed in SEEDS:
            for m in pair:
                extra = {"target": 0.0} if m == "none" else {}
                out.append(RunConfig.preset("cpu", arch=arch, dataset="cifar10", measure=m, seed=seed, **extra))
    return out


def event_grid(arch: str):
    from empirical.events import EventConfig
    return [EventConfig(arch=arch, dataset="cifar10", seed=s) for s in SEEDS]


def stage1_completion() -> list[RunConfig]:
    """Stage 1's missing MobileNet-V1 cells at the stage-1 cpu scale, exactly as stage 1 ran them
    (seeds 0–2 only — never new seeds): the dense baseline (seeds 0, 1, 2) and
    biased_loss_preservation seeds 1 and 2 (seed 0 is on main)."""
    out = [RunConfig.preset("cpu", arch="mobilenet_v1", dataset="cifar10", measure="none", seed=s, target=0.0)
           for s in SEEDS]
    out += [RunConfig.preset("cpu", arch="mobilenet_v1", dataset="cifar10", measure="biased_loss_preservation",
                             seed=s) for s in (1, 2)]
    return out


def bf16_equivalence() -> list[RunConfig]:
    """The bf16 side of the pre-registered bf16/fp32 equivalence check
    (results/plans/bf16-equivalence.json): its pairs' bf16 configs, in the registered order
    (the fp32 side is stage 1's runs)."""
    import json
    reg = json.loads((REPO / "results" / "plans" / "bf16-equivalence.json").read_text())
    out = []
    for p in reg["pairs"]:
        extra = {"target": 0.0} if p["measure"] == "none" else {}
        cfg = RunConfig.preset("cpu", arch=p["arch"], dataset="cifar10", measure=p["measure"], seed=p["seed"],
                               precision="bf16", **extra)
        if cfg.run_id() != p["bf16_run"]:
            raise SystemExit(f"bf16-equivalence: {cfg.run_id()} is not the registered {p['bf16_run']}; the "
                             "protocol changed since the registration")
        out.append(cfg)
    return out


STAGE2_PLAN = REPO / "results" / "plans" / "stage2.json"
PLAN_PRECISIONS = ("fp32", "bf16")


class PlanError(Exception):
    """The stage-2 plan file cannot be used; the message names the fix (exit 2)."""


def load_plan(path: Path | None = None) -> dict:
    """The committed, unchanged plan file (default STAGE2_PLAN) written under the current rules,
    or PlanError."""
    import json
    path = Path(STAGE2_PLAN if path is None else path)
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    if not path.is_file():
        raise PlanError(f"{rel} does not exist; fix: write it with `gftheory plan` and commit it before "
                        "the first stage-2 run")
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", "--", str(rel)], cwd=REPO,
                             capture_output=True, text=True)
    if tracked.returncode != 0:
        raise PlanError(f"{rel} is not committed; fix: `git add {rel} && git commit` before the first "
                        "stage-2 run (the plan is registered before its data)")
    if subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(rel)], cwd=REPO).returncode != 0:
        raise PlanError(f"{rel} differs from its committed version; fix: commit the change (a new "
                        f"registration) or restore it with `git checkout HEAD -- {rel}`")
    try:
        plan = json.loads(path.read_text())
    except ValueError as exc:
        raise PlanError(f"{rel} is not JSON ({exc}); fix: rewrite it with `gftheory plan`") from None
    from gftheory.claims.rules import rules_digest
    if plan.get("rules_digest") != rules_digest():
        raise PlanError(f"{rel} was written under rules {plan.get('rules_digest')!r}, the code's rules are "
                        f"{rules_digest()!r}; fix: rewrite and commit the plan under the current rules "
                        "(`gftheory plan`), or run the code the plan was written under")
    return plan


def _measure_spec(entry) -> tuple[str, str | None]:
    """(measure, quota_from) of a cell's measure entry: "magnitude", "random@magnitude" or
    {"measure": "random", "quota_from": "magnitude"}."""
    if isinstance(entry, dict):
        return entry["measure"], entry.get("quota_from")
    m, _, q = str(entry).partition("@")
    return m, (q or None)


BF16_ANALYSIS = REPO / "results" / "side" / "bf16-equivalence" / "analysis.json"
CONDITIONAL_BF16 = "bf16-if-equivalent"


def bf16_decision(path: Path | None = None) -> str | None:
    """The registered bf16 equivalence check's decision, from its committed analysis
    (scripts/bf16_equivalence.py --replay --json …): "bf16" when the verdict is "equivalent" with
    every pair's pairing proven, "fp32" when it is "not shown equivalent", None while the analysis is
    absent, uncommitted or incomplete (no decision yet)."""
    import json
    path = Path(BF16_ANALYSIS if path is None else path)
    if not path.is_file():
        return None
    if path.is_relative_to(REPO):
        rel = str(path.relative_to(REPO))
        if subprocess.run(["git", "ls-files", "--error-unmatch", "--", rel], cwd=REPO,
                          capture_output=True).returncode != 0:
            return None
    a = json.loads(path.read_text())
    verdict = str(a.get("verdict", ""))
    if verdict == "equivalent" and a.get("pairs") and all(p.get("paired_proven") is True for p in a["pairs"]):
        return "bf16"
    if verdict.startswith("not shown equivalent"):
        return "fp32"
    return None


def precision_for(spec, arch: str, decision=None) -> str | None:
    """The training precision of ``arch``'s cpu2 runs from the plan's protocol.cpu2.precision:
    "fp32" / "bf16", or a per-architecture mapping of those or "bf16-if-equivalent" (bf16 only if
    the registered equivalence check decided so; fp32 if it decided against; None = not decided
    yet, the architecture's runs wait)."""
    value = spec.get(arch) if isinstance(spec, dict) else spec
    if value == CONDITIONAL_BF16:
        return (decision or bf16_decision)()
    if value not in PLAN_PRECISIONS:
        raise PlanError(f"stage-2 plan: protocol.cpu2.precision for {arch} is {value!r}; fix: the plan must name "
                        f"one of {', '.join(PLAN_PRECISIONS)} or {CONDITIONAL_BF16!r}, or a mapping arch → one of them")
    return value


def stage2_cpu2(plan: dict | None = None) -> list[RunConfig]:
    """The stage-2 cpu2 runs of the plan (see the module docstring for the order)."""
    from empirical.config import ConfigError
    plan = load_plan() if plan is None else plan
    precision = ((plan.get("protocol") or {}).get("cpu2") or {}).get("precision")
    cells = [c for c in plan.get("cells", []) if c.get("status") == "planned" and c.get("scale") == "cpu2"]
    arch_precision = {c["arch"]: precision_for(precision, c["arch"]) for c in cells}
    deferred = sorted(a for a, p in arch_precision.items() if p is None)
    if deferred:
        print(f"stage2-cpu2: {', '.join(deferred)} deferred: its precision waits for the registered bf16 "
              f"equivalence decision ({BF16_ANALYSIS.relative_to(REPO)} not committed or incomplete)",
              file=sys.stderr, flush=True)
        cells = [c for c in cells if arch_precision[c["arch"]] is not None]
    archs: list[str] = []
    runs: dict[tuple, tuple] = {}       # (arch, measure, quota_from, seed) -> sort key
    for ci, c in enumerate(cells):
        arch = c["arch"]
        if c.get("dataset", "cifar10") != "cifar10":
            raise PlanError(f"stage-2 plan: cell {c.get('claim')}/{c.get('rule')} is on {c['dataset']}; fix: "
                            "stage-2 cpu2 runs are CIFAR-10 only")
        if arch not in archs:
            archs.append(arch)
        seeds = c.get("seeds") or (plan.get("seeds") or {}).get(f"{arch}/cpu2")
        if not seeds:
            raise PlanError(f"stage-2 plan: cell {c.get('claim')}/{c.get('rule')} ({arch}) names no seeds and "
                            f"seeds['{arch}/cpu2'] is absent; fix: give the cell's seeds in the plan")
        bad = [s for s in seeds if not isinstance(s, int) or 0 <= s <= 2]
        if bad:
            raise PlanError(f"stage-2 plan: cell {c.get('claim')}/{c.get('rule')} has seeds {bad}: stage 2 uses "
                            "fresh seeds only (never 0–2, which stage 1 used); fix: the plan's seeds")
        for mi, entry in enumerate(c.get("measures", [])):
            m, q = _measure_spec(entry)
            for s in seeds:
                order = (archs.index(arch), s)
                if q is not None:
                    runs.setdefault((arch, q, None, s), (*order, 0, ci, mi))   # the source, if no cell names it
                    runs[(arch, m, q, s)] = min(runs.get((arch, m, q, s), (9e9,)), (*order, 1, ci, mi))
                else:
                    runs[(arch, m, None, s)] = min(runs.get((arch, m, None, s), (9e9,)), (*order, 0, ci, mi))
    seed_pos = {}
    for c in cells:
        for s in c.get("seeds") or (plan.get("seeds") or {}).get(f"{c['arch']}/cpu2") or []:
            seed_pos.setdefault(s, len(seed_pos))
    out = []
    for (arch, m, q, s), key in sorted(runs.items(), key=lambda kv: (kv[1][0], seed_pos[kv[1][1]], *kv[1][2:])):
        extra = {"target": 0.0} if m == "none" else {}
        try:
            out.append(RunConfig.preset("cpu2", arch=arch, dataset="cifar10", measure=m, seed=s,
                                        precision=arch_precision[arch], quota_from=q, **extra))
        except ConfigError as exc:
            raise PlanError(f"stage-2 plan: {arch} {m}{'@' + q if q else ''} seed {s}: {exc}") from None
    return out


def stage2_events(plan: dict | None = None):
    """The plan's event studies (cells with scale "events" and status "planned"), one per
    (arch, seed), at the event study's stage-2 edition."""
    import dataclasses
    from empirical.events import EventConfig
    if "edition" not in {f.name for f in dataclasses.fields(EventConfig)}:
        raise PlanError("stage2-events: the event study has no 'edition' field yet; fix: wait for the "
                        "stage-2 event study (issue 24) to land")
    plan = load_plan() if plan is None else plan
    out, seen = [], set()
    for c in plan.get("cells", []):
        if c.get("status") != "planned" or c.get("scale") != "events":
            continue
        for s in c.get("seeds") or (plan.get("seeds") or {}).get(f"{c['arch']}/events") or []:
            if (c["arch"], s) not in seen:
                seen.add((c["arch"], s))
                out.append(EventConfig(arch=c["arch"], dataset=c.get("dataset", "cifar10"), seed=s, edition=2))
    return out


CAMPAIGNS = {
    "stage2-cpu2": stage2_cpu2,
    "stage2-events": stage2_events,
    "mobilenet_v1-stage1-completion": stage1_completion,
    "bf16-equivalence": bf16_equivalence,
    "resnet56-cpu": lambda: cpu_grid("resnet56"),
    "mobilenet_v1-cpu": lambda: cpu_grid("mobilenet_v1"),
    "resnet56-events": lambda: event_grid("resnet56"),
    "mobilenet_v1-events": lambda: event_grid("mobilenet_v1"),
    "vgg13-events": lambda: event_grid("vgg13"),
}

SIDE = "side"   # results/side/<experiment>/<run_id>: side experiments, never claim evidence


def destination(meta: dict) -> str:
    """The results/ sub-folder of a completed run: events/ for event studies; side/bf16-equivalence/
    for the bf16 side of the registered equivalence check (cpu-scale configs in bf16: not stage-1
    evidence, which is fp32); else the run's scale."""
    c = meta["config"]
    if runstore.is_event_study(meta):
        return "events"
    if c.get("scale") == "cpu" and c.get("precision") == "bf16":
        return f"{SIDE}/bf16-equivalence"
    return c["scale"]


def collect(root: Path, dest: Path, commit: bool) -> list[Path]:
    """Copy every completed run's evidence files under ``root`` to ``dest``; return the new ones."""
    new = []
    for run in runstore.run_dirs(root, nested=False):
        if not runstore.is_complete(run):
            continue
        meta = runstore.read_config(run)
        sub = destination(meta)
        target = dest / sub / run.name
        if (target / runstore.SUMMARY).exists():
            if commit and not _tracked(target):   # copied earlier, but its commit failed (index lock)
                _commit(target)
            continue
        tmp = dest / sub / f".{run.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in runstore.EVIDENCE:
            if (run / name).exists():
                shutil.copy2(run / name, tmp / name)
        tmp.rename(target)  # the folder appears whole or not at all
        new.append(target)
        if commit:
            _commit(target)
        print(f"collected {target}", flush=True)
    return new


INFLIGHT = REPO / "inflight"   # inflight/<study id>/: an unfinished event study's config + events, never evidence


def stash(root: Path, commit: bool, inflight: Path = INFLIGHT) -> list[Path]:
    """Copy every unfinished event study under ``root`` that has measured at least one event into
    ``inflight/<id>/`` (config.json and the whole records of events.jsonl, nothing else), so that
    the next session, on whatever machine, resumes it instead of starting again. With ``commit``,
    one commit for all of them. Checkpoints stay behind: the resumed study recomputes its
    trajectory and proves it identical to the recorded one (``empirical.events.check_replay``)."""
    out = []
    for run in runstore.run_dirs(root, nested=False):
        if runstore.is_complete(run) or not runstore.is_event_study(runstore.read_config(run)):
            continue
        records = runstore.read_events(run)          # a torn last line (killed mid-write) is dropped
        n = sum(r.get("kind") == "event" for r in records)
        if not n:
            continue
        have = runstore.read_events(inflight / run.name)
        if len(have) >= len(records):
            continue
        records = [_with_digest(run, r) for r in records]
        tmp = inflight / f".{run.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy2(run / runstore.CONFIG, tmp / runstore.CONFIG)
        runstore.write_events(tmp, records)
        shutil.rmtree(inflight / run.name, ignore_errors=True)
        tmp.rename(inflight / run.name)
        out.append(inflight / run.name)
        print(f"stashed {run.name}: {n} events", flush=True)
    if commit and out:
        rel = [str(q.relative_to(REPO)) for q in out]
        subprocess.run(["git", "add", *rel], cwd=REPO, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"inflight: {len(out)} unfinished event "
                        "stud(y/ies), config and events so far (not evidence; the next session resumes them)",
                        "--", *rel], cwd=REPO, check=True)
    return out


def _with_digest(run: Path, record: dict) -> dict:
    """A trajectory epoch recorded without its weights digest (by code older than the digest) gets
    it from the checkpoint file the study's events were measured on, where that file is here:
    ``weights_sha256`` = ``empirical.fingerprint.init_fingerprint`` of the saved state, marked
    ``"weights_sha256_from": "checkpoint file"``. The run store's own file is not changed."""
    if record.get("kind") != "trajectory_epoch" or record.get("weights_sha256"):
        return record
    path = run / runstore.study_checkpoint(record["epoch"])
    if not path.is_file():
        return record
    from empirical.fingerprint import init_fingerprint
    state = runstore.load_checkpoint(path)
    if int(state.get("epoch", -1)) != record["epoch"]:
        return record
    return {**record, "weights_sha256": init_fingerprint(state["model"]), "weights_sha256_from": "checkpoint file"}


def restore(root: Path, inflight: Path = INFLIGHT) -> list[Path]:
    """Put each stashed study (``inflight/<id>/``) into the run store ``root`` where the store has
    fewer of its records (a fresh machine has none); a study already complete in results/ is left."""
    out = []
    for src in sorted(inflight.glob("ev-*")):
        if committed(src.name) or not (src / runstore.CONFIG).is_file():
            continue
        dst = root / src.name
        if runstore.is_complete(dst) or len(runstore.read_events(dst)) >= len(runstore.read_events(src)):
            continue
        dst.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / runstore.CONFIG, dst / runstore.CONFIG)
        runstore.write_events(dst, runstore.read_events(src))
        out.append(dst)
        print(f"restored {src.name} from {src.relative_to(inflight.parent)}: "
              f"{sum(r.get('kind') == 'event' for r in runstore.read_events(dst))} events", file=sys.stderr, flush=True)
    return out


def _tracked(target: Path) -> bool:
    out = subprocess.run(["git", "ls-files", "--", str(target.relative_to(REPO))], cwd=REPO,
                         capture_output=True, text=True)
    return bool(out.stdout.strip())


def _commit(target: Path) -> None:
    """One commit for one collected run (only its paths); retried while another git holds the index."""
    import time
    s = runstore.read_summary(target)
    c = s["config"]
    if runstore.is_event_study(s):
        msg = (f"results: event study {c['arch']} {c['dataset']} seed {c['seed']}, "
               f"{s['events']} events, {s['seconds'] / 60:.1f} min")
    else:
        arm = c['measure'] + (f"@{c['quota_from']}" if c.get("quota_from") else "")   # layer-matched arms named
        msg = (f"results: {c['arch']} {c['dataset']} {arm} seed {c['seed']} ({c['scale']} "
               f"scale), final val_acc {s['final']['val_acc']:.4f}, {s['seconds'] / 60:.1f} min")
    rel = target.relative_to(REPO)
    paths = [str(rel)]
    stale = INFLIGHT / target.name     # its unfinished copy leaves in the same commit
    if stale.exists():
        shutil.rmtree(stale)
    if _tracked(stale):
        paths.append(str(stale.relative_to(REPO)))
    for attempt in range(10):
        add = subprocess.run(["git", "add", "-A", "--", *paths], cwd=REPO)
        if add.returncode == 0 and subprocess.run(
                ["git", "commit", "-q", "-m", msg, "--", *paths], cwd=REPO).returncode == 0:
            return
        time.sleep(5 + 5 * attempt)
    print(f"could not commit {rel}; the next collect retries", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("name", nargs="+", choices=sorted(CAMPAIGNS),
                   help="one or more campaigns, run one after another in the order given")
    r.add_argument("--root", type=Path, default=Path("runs"))
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--data-dir", type=Path, default=None)
    r.add_argument("--device", default="cpu")
    st = sub.add_parser("stash", help="copy unfinished event studies' config + events into inflight/ "
                        "(run it before a session ends; the next `run` restores them)")
    st.add_argument("--root", type=Path, default=Path("runs"))
    st.add_argument("--commit", action="store_true")
    c = sub.add_parser("collect")
    c.add_argument("--root", type=Path, default=Path("runs"))
    c.add_argument("--dest", type=Path, default=REPO / "results",
                   help="runs go to DEST/<scale>/<id>, event studies to DEST/events/<id>")
    c.add_argument("--commit", action="store_true")
    ls = sub.add_parser("list")
    ls.add_argument("name", choices=sorted(CAMPAIGNS))
    args = p.parse_args(argv)
    if args.cmd == "collect":
        collect(args.root, args.dest.resolve(), args.commit)
        return 0
    if args.cmd == "stash":
        stash(args.root, args.commit)
        return 0
    names = [args.name] if args.cmd == "list" else args.name
    try:                            # every campaign's configs (and the plan's checks) before any run
        built = {name: CAMPAIGNS[name]() for name in names}
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    if args.cmd == "list":
        for cfg in built[args.name]:
            q = getattr(cfg, "quota_from", None)
            print(cfg.run_id(), cfg.arch, getattr(cfg, "measure", "events") + (f"@{q}" if q else ""), cfg.seed,
                  getattr(cfg, "scale", ""))
        return 0
    args.root.mkdir(parents=True, exist_ok=True)
    restore(args.root)              # unfinished studies stashed by an earlier session resume here
    ok = True
    for name in names:              # campaigns in the order given: no idle cores between them
        print(f"campaign {name}: starting", file=sys.stderr, flush=True)
        ok = run_campaign(name, args, built[name]) and ok
    return 0 if ok else 1


def committed(run_id: str, results: Path = REPO / "results") -> bool:
    """Whether a complete copy of run ``run_id`` is already in results/ (any sub-folder: a scale,
    events/ or side/<experiment>/). A fresh machine has an empty run store; without this check a
    relaunch there would recompute runs whose evidence is already on main."""
    for summary in (*results.glob(f"*/{run_id}/{runstore.SUMMARY}"),
                    *results.glob(f"{SIDE}/*/{run_id}/{runstore.SUMMARY}")):
        if runstore.is_complete(summary.parent):
            return True
    return False


def run_campaign(name: str, args, configs=None) -> bool:
    """Run one campaign to the end; whether every run / study of it is complete. Runs already
    committed complete under results/ are skipped (a fresh machine's run store starts empty)."""
    configs = CAMPAIGNS[name]() if configs is None else configs
    done = [c for c in configs if committed(c.run_id())]
    if done:
        print(f"campaign {name}: {len(done)} of {len(configs)} already complete in results/, skipped",
              file=sys.stderr, flush=True)
        configs = [c for c in configs if not committed(c.run_id())]
    if not configs:
        return True
    if name.endswith("-events"):   # --jobs studies at once, each in its own single-thread process
        from empirical.sweep import run_studies
        paths = run_studies(configs, args.root, jobs=args.jobs, device=args.device, data_dir=args.data_dir)
        return all(runstore.is_complete(q) for q in paths)
    from empirical.sweep import run_grid
    paths = run_grid(configs, args.root, jobs=args.jobs, device=args.device,
                     data_dir=args.data_dir)
    return all(runstore.is_complete(q) for q in paths)

if __name__ == "__main__":
    sys.exit(main())
