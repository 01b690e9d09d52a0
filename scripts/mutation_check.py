#!/usr/bin/env python
"""Mutation check: the tests must catch planted bugs — formula bugs and engine bugs.

Each mutant is one exact text replacement in one source file (a flipped sign, a lost
factor 2, g in place of Hg, abs before instead of after the sum; scoring at the wrong
temperature or BatchNorm mode, un-augmented importance batches, a checkpoint written before its
metrics record, a seed-dependent validation split, a wrong rounding direction, a unit left out
of the bookkeeping, a weight-decay term dropped, ...). For each mutant the source tree
(gftheory/, empirical/, tests/, docs/, README.md, pyproject.toml) is copied to a temporary directory, the
replacement is applied there (the real tree is never modified; a target text that is not
found exactly once is an error), and the relevant tests run there with PYTHONPATH pointing
to the copy. A mutant is *caught* when pytest fails. Prints a table (mutant id, file,
description, caught/survived, seconds); exits 1 if any mutant survived, 2 on a setup error
(missing target text, or the unmutated baseline failing).

    python scripts/mutation_check.py                 # all mutants, after a baseline run
    python scripts/mutation_check.py --mutants M01,M13 --no-baseline
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
T_ID = "tests/theory/test_identities.py"
T_AP = "tests/theory/test_approximations.py"
T_ME = "tests/theory/test_measures.py"
T_IM = "tests/theory/test_importance.py"
T_BP = "tests/theory/test_beyond_paper.py"
T_EC = "tests/empirical/test_engine_correctness.py"
T_EI = "tests/empirical/test_engine_inputs.py"
T_UN = "tests/empirical/test_pruning_units.py"
T_DA = "tests/empirical/test_empirical_data.py"
T_PF = "tests/empirical/test_pruning_floor.py"
T_PS = "tests/empirical/test_pruning_schedule.py"
T_RL = "tests/empirical/test_run_lock.py"
T_SP = "tests/theory/test_spread.py"


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    old: str
    new: str
    description: str
    tests: tuple[str, ...]


MUTANTS = (
    # -- identities (gftheory/flow.py) ------------------------------------------------
    Mutant("M01", "gftheory/flow.py", "norm_sq_rate=float(2 * theta @ v)",
           "norm_sq_rate=float(-2 * theta @ v)", "F1: flipped sign of d‖θ‖²/dt", (T_ID,)),
    Mutant("M02", "gftheory/flow.py", "loss_rate=float(g @ v)", "loss_rate=float(-(g @ v))",
           "F2: flipped sign of dL/dt", (T_ID,)),
    Mutant("M03", "gftheory/flow.py", "grad_norm_sq_rate=float(2 * g @ hv)",
           "grad_norm_sq_rate=float(g @ hv)", "F3: lost factor 2 in d‖g‖²/dt", (T_ID,)),
    Mutant("M04", "gftheory/flow.py", "if lam else -hg", "if lam else -g",
           "F3/F4/F5: g in place of Hg", (T_ID,)),
    Mutant("M05", "gftheory/flow.py", "norm_sq_accel=float(2 * v @ v + 2 * theta @ dv)",
           "norm_sq_accel=float(2 * v @ v + theta @ dv)", "F4: lost factor 2 on θᵀHg", (T_ID,)),
    Mutant("M06", "gftheory/flow.py", "norm_sq_rate=2 * (th * vv).sum(1),",
           "norm_sq_rate=(th * vv).sum(1),", "F1 per unit: lost factor 2", (T_ID,)),
    Mutant("M07", "gftheory/flow.py",
           "norm_sq_accel=2 * (vv * vv).sum(1) + 2 * (th * dvv).sum(1),",
           "norm_sq_accel=2 * (vv * vv).sum(1) - 2 * (th * dvv).sum(1),",
           "F4 per unit: flipped sign of θ_pᵀ(Hg)_p", (T_ID,)),
    Mutant("M08", "gftheory/flow.py", "theta_dot_grad_rate=(vv * gg).sum(1) + (th * hvv).sum(1))",
           "theta_dot_grad_rate=(vv * gg).sum(1) + (th * vv).sum(1))",
           "F5: g in place of Hg", (T_ID,)),
    Mutant("M09", "gftheory/flow.py", "v = -(g + lam * theta)", "v = -(g - lam * theta)",
           "F1_wd: flipped sign of the weight-decay term", (T_ID,)),
    # -- measures (gftheory/measures.py) ----------------------------------------------
    Mutant("M10", "gftheory/measures.py", "return rows(q.theta * q.grad).sum(dim=1).abs()",
           "return rows((q.theta * q.grad).abs()).sum(dim=1)",
           "loss_preservation: abs before instead of after the sum", (T_ID, T_ME)),
    Mutant("M11", "gftheory/measures.py",
           "(authors' code, `loss_based`)\", frozenset({\"grad\"}))\n    in_paper = True\n\n"
           "    def parameter_scores(self, q):\n        return (q.theta * q.grad).abs()\n",
           "(authors' code, `loss_based`)\", frozenset({\"grad\"}))\n    in_paper = True\n\n"
           "    def parameter_scores(self, q):\n        return (q.theta * q.grad).abs()\n\n"
           "    def filter_scores(self, q):\n        return rows(q.theta * q.grad).sum(dim=1).abs()\n",
           "loss_preservation_elementwise: abs after instead of before the sum", (T_ID, T_ME)),
    Mutant("M12", "gftheory/measures.py", "return q.theta.pow(2) * q.grad.abs()",
           "return q.theta.abs() * q.grad.abs()", "biased_loss_preservation: lost square on θ",
           (T_ME, T_IM)),
    Mutant("M13", "gftheory/measures.py", "        return q.theta * q.hvp\n",
           "        return -q.theta * q.hvp\n", "grasp: flipped sign", (T_AP, T_ME)),
    Mutant("M14", "gftheory/measures.py", "return rows(q.theta * q.hvp).sum(dim=1).abs()",
           "return rows((q.theta * q.hvp).abs()).sum(dim=1)",
           "gradient_norm_preservation: abs before instead of after the sum", (T_ME, T_IM)),
    Mutant("M15", "gftheory/measures.py", "return q.theta.pow(2) * q.grad_sq",
           "return q.theta.abs() * q.grad_sq", "fisher: lost square on θ", (T_ME, T_IM)),
    Mutant("M16", "gftheory/measures.py", "return rows(q.theta).norm(dim=1)",
           "return rows(q.theta).abs().sum(dim=1)", "magnitude: ‖θ_p‖₁ in place of ‖θ_p‖₂",
           (T_ME, T_IM)),
    Mutant("M17", "gftheory/measures.py",
           "\"‖θ_p‖₁ = Σ_i |θ_i|\"\n\n    def parameter_scores(self, q):\n        return q.theta.abs()",
           "\"‖θ_p‖₁ = Σ_i |θ_i|\"\n\n    def parameter_scores(self, q):\n        return q.theta.pow(2)",
           "l1: squared in place of |θ|", (T_ME, T_IM)),
    # -- importance (gftheory/importance.py) and the objective ------------------------
    Mutant("M18", "gftheory/importance.py", "put(\"hvp\", obj.hvp(g, theta))", "put(\"hvp\", g)",
           "grasp / gradient_norm_preservation: g in place of Hg", (T_AP, T_IM)),
    Mutant("M19", "gftheory/importance.py", "acc += (n_b / obj.n_samples) * g_b.pow(2)",
           "acc += g_b.pow(2) / len(obj.batches)", "fisher: batches not weighted by size", (T_IM,)),
    Mutant("M20", "gftheory/importance.py", "(g * params[n]).detach().abs()", "g.detach().abs()",
           "synflow: lost factor θ", (T_IM,)),
    Mutant("M21", "gftheory/importance.py", "obj = Objective(model, batch_list, temperature)",
           "obj = Objective(model, batch_list)", "importance: temperature ignored", (T_IM,)),
    Mutant("M22", "gftheory/importance.py",
           "    with preserved_modes(model):\n        model.eval()\n",
           "    model.eval()\n    if True:\n", "synflow: train/eval modes not restored", (T_IM,)),
    Mutant("M23", "gftheory/objective.py",
           "F.cross_entropy(self.logits(flat, x) / self.temperature",
           "F.cross_entropy(self.logits(flat, x) * self.temperature",
           "objective: logits multiplied by T instead of divided", (T_IM,)),
    # -- the runner's internals (empirical/runner.py, probe.py, train.py) --------------------
    Mutant("M24", "empirical/runner.py",
           "temperature=self.cfg.effective_importance_temperature,\n                                seed=",
           "temperature=self.cfg.temperature,\n                                seed=",
           "runner: importance scored at the training T, not the measure's", (T_EC,)),
    Mutant("M25", "empirical/runner.py", "            self.model.eval()                       # the authors",
           "            self.model.train()                      # the authors",
           "runner: importance scored with BatchNorm in train mode", (T_EC,)),
    Mutant("M26", "empirical/runner.py",
           "loader = _loader(self.data.train_x[idx], y[idx], batch_size=cfg.batch_size, train=True,",
           "loader = _loader(self.data.train_x[idx], y[idx], batch_size=cfg.batch_size, train=False,",
           "runner: importance batches not augmented", (T_EC,)),
    Mutant("M27", "empirical/runner.py",
           "before = probe_quantities(self.model, self.probe, temperature=self.cfg.temperature)",
           "before = probe_quantities(self.model, self.probe, temperature=1.0)",
           "runner: probe before pruning at T = 1, not the training T", (T_EC,)),
    Mutant("M28", "empirical/probe.py", "        model.eval()\n", "        model.train()\n",
           "probe: flow quantities in train mode", (T_EC,)),
    Mutant("M29", "empirical/runner.py",
           "tr, va = holdout_split(y, config.holdout_size, seed=HOLDOUT_SEED)",
           "tr, va = holdout_split(y, config.holdout_size, seed=config.seed)",
           "runner: validation split drawn with the run seed (differs per seed)", (T_EI,)),
    Mutant("M30", "empirical/runner.py",
           "            runstore.append_metric(self.dir, rec)\n            elapsed += seconds\n"
           "            self.save(epoch, elapsed)\n",
           "            elapsed += seconds\n            self.save(epoch, elapsed)\n"
           "            runstore.append_metric(self.dir, rec)\n",
           "runner: checkpoint written before the metrics record (a death loses it)", (T_EC,)),
    Mutant("M31", "empirical/runner.py",
           "kept = runstore.truncate_metrics(self.dir, done)",
           "kept = runstore.read_metrics(self.dir)",
           "runner: metrics not cut back to the checkpoint on resume (duplicates)", (T_EC,)),
    Mutant("M32", "empirical/train.py", "forward = model if step_fn is None else step_fn",
           "forward = step_fn or model", "train: compiled module truth-tested (--compile crashes)",
           (T_EI,)),
    # -- data (empirical/data.py), --root (empirical/runner.py) ---------------------------
    Mutant("M33", "empirical/data.py", "order = torch.argsort(-(exact - quota.double()), stable=True)",
           "order = torch.argsort(exact - quota.double(), stable=True)",
           "stratified split: spare units to the smallest remainders", (T_DA,)),
    Mutant("M34", "empirical/data.py", "quota = exact.floor().long()", "quota = exact.round().long()",
           "stratified split: per-class round() instead of floor + largest remainder", (T_DA,)),
    Mutant("M35", "empirical/data.py",
           "h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())", "h.update(b\"\")",
           "data digest: images left out (labels only)", (T_EI,)),
    Mutant("M36", "empirical/data.py", "elif OFFICIAL_ARRAY_SHA256.get((spec.name, split)) == digest:",
           "elif OFFICIAL_ARRAY_SHA256.get((spec.name, split)) is not None:",
           "data status: any array digest accepted as the official arrays", (T_EI,)),
    Mutant("M37", "empirical/runner.py", "if probe.exists() and not probe.is_dir():",
           "if False:", "--root: a regular file is not reported as 'not a directory'", (T_EI,)),
    # -- unit bookkeeping and masks (empirical/pruning/) -----------------------------------
    Mutant("M38", "empirical/architectures/mobilenet_v1.py", "names = [\"stem.conv\"] + [f\"blocks.{j}.pw\"",
           "names = [] + [f\"blocks.{j}.pw\"", "MobileNet-V1: the stem is not a unit", (T_UN,)),
    Mutant("M39", "empirical/architectures/mobilenet_v1.py", "for j in range(len(MOBILENET_CFG))]",
           "for j in range(len(MOBILENET_CFG) - 1)]", "MobileNet-V1: the last pointwise is not a unit",
           (T_UN,)),
    Mutant("M40", "empirical/architectures/resnet56.py", "tuple(f\"{c}.weight\" for c, _ in feeders)",
           "(f\"{feeders[0][0]}.weight\",)",
           "coupled residual: stream scored by its first filter only", (T_UN,)),
    Mutant("M41", "empirical/pruning/pruner.py", "total = s if total is None else total + s",
           "total = s if total is None else torch.maximum(total, s)",
           "coupled residual: max instead of the sum of the coupled filters' scores", (T_UN,)),
    Mutant("M42", "empirical/pruning/pruner.py",
           "alive[g.name] = [i for i in alive[g.name] if i not in pos]",
           "alive[g.name] = [i for i in range(self.original[g.name]) if i not in pos]",
           "masks: a fresh all-ones mask each round revives masked channels (authors)", (T_PF, T_PS)),
    # -- weight-decay forms (gftheory/flow.py) ---------------------------------------------
    Mutant("M43", "gftheory/flow.py", "hv = -(hg + lam * obj.hvp(theta, theta)) if lam else -hg",
           "hv = -hg", "F3/F4/F5 with λ: the −λHθ term of Hv dropped", (T_ID,)),
    Mutant("M44", "gftheory/flow.py", "dv = -(hv + lam * v)", "dv = -(hv - lam * v)",
           "F4 with λ: flipped sign of λ in dv/dt", (T_ID,)),
    Mutant("M45", "gftheory/flow.py", "loss_rate=float(g @ v)", "loss_rate=float(-(g @ g))",
           "F2 with λ: the paper's λ = 0 form used for every λ", (T_ID,)),
    Mutant("M46", "gftheory/flow.py", "theta_dot_grad_rate=(vv * gg).sum(1) + (th * hvv).sum(1))",
           "theta_dot_grad_rate=-(gg * gg).sum(1) + (th * hvv).sum(1))",
           "F5 per unit with λ: −‖g_p‖² in place of v_pᵀg_p", (T_ID,)),
    # -- the model is left untouched (gftheory/importance.py, objective.py) -----------------
    Mutant("M47", "gftheory/importance.py",
           "buffers = {n: (b.detach().double().abs() if b.is_floating_point()",
           "buffers = {n: (b.detach().double().abs_() if b.is_floating_point()",
           "synflow: |·| applied in place to the model's BN running statistics", (T_IM,)),
    Mutant("M48", "gftheory/objective.py", "            state[n] = b.clone()\n",
           "            state[n] = b\n", "objective: model buffers used, not cloned", (T_IM,)),
    Mutant("M49", "empirical/runner.py", "if old is not None and old != entry[\"arrays_sha256\"]:",
           "if False:", "resume: a run continues on data other than it started with", (T_EI,)),
    Mutant("M50", "gftheory/runstore.py", "            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)\n        except BlockingIOError:\n            fh.seek(0)",
           "            pass\n        except BlockingIOError:\n            fh.seek(0)",
           "run store: two processes may write one run at once", (T_RL,)),
    Mutant("M51", "gftheory/spread.py", 'return rankdata(x, method="average")', 'return rankdata(x, method="ordinal")',
           "spread: ties ranked by position, not averaged (Spearman ρ off on tied scores)", (T_SP,)),
    Mutant("M52", "gftheory/spread.py", "order = np.lexsort((np.arange(n), scores))",
           "order = np.lexsort((-np.arange(n), scores))", "spread: pruned-set ties broken by the last position",
           (T_SP,)),
)
COPY = ("gftheory", "empirical", "tests", "docs", "README.md", "pyproject.toml")


def _ignore(_dir, names):
    return [n for n in names if n in ("__pycache__", ".hypothesis", ".pytest_cache")]


def make_tree(dest: Path) -> None:
    for item in COPY:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=_ignore)
        elif src.exists():
            shutil.copy2(src, dest / item)


def apply(tree: Path, m: Mutant) -> None:
    path = tree / m.file
    text = path.read_text(encoding="utf-8")
    count = text.count(m.old)
    if count != 1:
        raise SystemExit(f"mutation_check: mutant {m.id}: target text found {count} times in "
                         f"{m.file} (need exactly 1): {m.old!r}; fix the mutant or the source")
    path.write_text(text.replace(m.old, m.new), encoding="utf-8")


def run_tests(tree: Path, tests, timeout: float) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               GFTHEORY_NO_SHRINK="1",
               GFTHEORY_PROFILE=os.environ.get("GFTHEORY_PROFILE", "ci"))
    cmd = [sys.executable, "-m", "pytest", "-n", "0", "-x", "-q", "-p", "no:cacheprovider", "--no-header",
           "-W", "ignore::UserWarning", *tests]
    try:
        out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "timeout"
    return out.returncode, (out.stdout + out.stderr)[-2000:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", default=None, help="comma-separated mutant ids (default: all)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the run of the unmutated tree (it must pass)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per pytest run")
    ap.add_argument("--json", default=None, help="write the table as JSON to this file")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)
    chosen = list(MUTANTS)
    if args.list:
        for m in chosen:
            print(f"{m.id}  {m.file:40s} {m.description}")
        return 0
    if args.mutants:
        want = [x.strip() for x in args.mutants.split(",") if x.strip()]
        known = {m.id: m for m in MUTANTS}
        bad = [w for w in want if w not in known]
        if bad:
            print(f"mutation_check: unknown mutant id(s) {bad}; see --list", file=sys.stderr)
            return 2
        chosen = [known[w] for w in want]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gftheory-mut-") as tmp:
        tmp = Path(tmp)
        if not args.no_baseline:
            base = tmp / "baseline"
            make_tree(base)
            tests = sorted({t for m in chosen for t in m.tests})
            t0 = time.perf_counter()
            rc, out = run_tests(base, tests, args.timeout)
            print(f"[mutation] baseline ({', '.join(tests)}): rc={rc}, "
                  f"{time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
            if rc != 0:
                print(f"mutation_check: the unmutated tests fail, so mutants prove nothing:\n{out}",
                      file=sys.stderr)
                return 2
        for m in chosen:
            tree = tmp / m.id
            make_tree(tree)
            apply(tree, m)
            t0 = time.perf_counter()
            rc, out = run_tests(tree, m.tests, args.timeout)
            secs = time.perf_counter() - t0
            caught = rc not in (0, 5)      # 5 = no tests collected: not a catch
            rows.append({"id": m.id, "file": m.file, "description": m.description,
                         "verdict": "caught" if caught else "SURVIVED", "seconds": round(secs, 1),
                         "tests": list(m.tests), "pytest_rc": rc})
            print(f"[mutation] {m.id} {'caught' if caught else 'SURVIVED'} ({secs:.1f}s)",
                  file=sys.stderr, flush=True)
            shutil.rmtree(tree, ignore_errors=True)
    w = max(len(r["description"]) for r in rows) if rows else 10
    fw = max([len(r["file"]) for r in rows] + [24])
    print(f"{'mutant':7s} {'file':{fw}s} {'description':{w}s} {'verdict':8s} seconds")
    for r in rows:
        print(f"{r['id']:7s} {r['file']:{fw}s} {r['description']:{w}s} {r['verdict']:8s} {r['seconds']:.1f}")
    survived = [r["id"] for r in rows if r["verdict"] != "caught"]
    print(f"{len(rows) - len(survived)}/{len(rows)} mutants caught"
          + (f"; SURVIVED: {', '.join(survived)}" if survived else ""))
    if args.json:
        path = Path(args.json)
        tmpf = path.with_name(f".{path.name}.tmp")
        tmpf.write_text(json.dumps({"mutants": rows}, indent=2) + "\n", encoding="utf-8")
        os.replace(tmpf, path)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
