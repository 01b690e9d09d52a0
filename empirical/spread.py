"""``gftheory spread``: how much each measure's filter ranking depends on its importance sample,
on a real checkpoint of an event study (formulas: ``gftheory.spread``).

For every sample size n of ``sizes`` and every measure: ``repeats`` independent importance
samples of n augmented training images (drawn as the event study draws its sample, each with its
own seed), scored in eval mode at the measure's importance temperature (as the runs and the study
score), reduced to the pruner's units (``StructuredPruner.unit_scores``: filters; ResNet-56's
residual-stream mask groups). Reported per (measure, n): Spearman ρ between the samples' global
rankings (mean, min over pairs), the Jaccard agreement of the units the pruner would remove at
the study's first-round ratio (the pruner's own selection, per-layer floor included), the median
relative spread of a unit's score, and the scoring seconds. The class-balanced Hg sample of the
runs is not used: the study's sample (uniform over the training set) is.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from empirical.config import ConfigError
from gftheory import runstore

DEFAULT_MEASURES = ("magnitude", "loss_preservation", "loss_preservation_elementwise", "biased_loss_preservation",
                    "grasp", "gradient_norm_preservation", "fisher")


@dataclass(frozen=True)
class SpreadConfig:
    """One spread measurement; every field is a ``gftheory spread`` flag."""
    study: str                            # an event-study directory (holds checkpoint_e<E>.pt)
    checkpoint: int = 1                   # its checkpoint (data epochs of dense training)
    sizes: tuple = (256, 512)             # importance-sample sizes compared
    repeats: int = 3                      # independent samples per size
    measures: tuple = DEFAULT_MEASURES
    fraction: float | None = None         # pruned fraction for the Jaccard (default: the study's round-1 ratio)

    def __post_init__(self):
        for name, kind in (("sizes", int), ("measures", str)):
            v = getattr(self, name)
            if isinstance(v, str):
                v = [x for x in v.replace(" ", "").split(",") if x]
            object.__setattr__(self, name, tuple(kind(x) for x in v))
        from empirical.config import measures
        if not self.sizes or any(n < 2 for n in self.sizes):
            raise ConfigError(f"sizes: {list(self.sizes)} must be ≥ 2 images each; fix: e.g. --sizes 256,512")
        if self.repeats < 2:
            raise ConfigError(f"repeats: {self.repeats} < 2 leaves nothing to compare; fix: --repeats 3")
        unknown = [m for m in self.measures if m not in measures()]
        if unknown or not self.measures:
            raise ConfigError(f"measures: unknown {unknown or 'none given'}; fix: choose from {', '.join(measures())}")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ConfigError(f"fraction: {self.fraction} is not in (0, 1]; fix: e.g. --fraction 0.1")

    def canonical(self) -> dict:
        d = dataclasses.asdict(self)
        return {**d, "sizes": list(self.sizes), "measures": list(self.measures)}


def _study(cfg: SpreadConfig):
    """(EventConfig, config.json, checkpoint path) of the study, or ConfigError naming the fix."""
    from empirical.events import EventConfig
    study = Path(cfg.study)
    try:
        meta = runstore.read_config(study)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"study: {study} is not a readable run directory ({exc}); fix: pass an event-study "
                          f"directory made by `gftheory events`") from None
    if not runstore.is_event_study(meta):
        raise ConfigError(f"study: {study} is a prune-while-training run, not an event study; fix: pass a "
                          f"directory made by `gftheory events`")
    ecfg = EventConfig.from_canonical(meta["config"])   # a stored config without 'edition' is edition 1
    ck = study / runstore.study_checkpoint(cfg.checkpoint)
    if not ck.is_file():
        have = sorted(p.name for p in study.glob("checkpoint_e*.pt"))
        raise ConfigError(f"checkpoint: {ck} does not exist (the study has {have or 'no checkpoints'}; "
                          f"committed results hold none); fix: pick one of those, or rerun `gftheory events "
                          f"--arch {ecfg.arch} --seed {ecfg.seed} --root {study.parent}` to make them")
    return ecfg, meta, ck


def measure_spread(cfg: SpreadConfig, *, data_dir=None, device="cpu", progress: bool = True) -> dict:
    """The spread table of ``cfg`` (see the module docstring) with provenance."""
    from empirical.events import EventStudy
    from empirical.pruning import StructuredPruner
    from empirical.runner import arrays_digest, prepare_data, resolve_device
    from gftheory.importance import importance
    from gftheory.provenance import provenance
    from gftheory.spread import jaccard_pairs, ranking_spread
    from gftheory.state import preserved_modes

    ecfg, meta, ck = _study(cfg)
    dev = resolve_device(device)
    prov = provenance(dev)            # the code and time at the start of the measurement
    splits = prepare_data(ecfg.training_config(), data_dir)
    digest = arrays_digest(splits)
    if digest != (meta.get("data") or {}).get("arrays_sha256"):
        raise ConfigError(f"data: the arrays loaded now (sha256 {digest[:16]}…) are not the study's; fix: point "
                          f"--data-dir at the data the study was made with")
    es = EventStudy(ecfg, Path(cfg.study), splits, dev, progress=False)
    model = es.build_model()
    state = runstore.load_checkpoint(ck)
    model.load_state_dict(state["model"])
    model.eval()
    fraction = cfg.fraction if cfg.fraction is not None else ecfg.first_round_ratio()
    pruner = StructuredPruner(model, ecfg.arch, target=fraction, rounds=1, floor_fraction=ecfg.floor_fraction)
    from empirical.pruning.schedule import cumulative_pruned
    count = cumulative_pruned(1, pruner.units_total, fraction, 1)   # what one event of `fraction` removes

    def sample(n: int, r: int):
        y = splits.train_y
        g = torch.Generator().manual_seed(ecfg.seed * 1_000_003 + 104_729 * n + r)
        idx = torch.randperm(len(y), generator=g)[:n]
        loader = es.loader(splits.train_x[idx], y[idx], train=True, seed=ecfg.seed * 1_000_003 + 31 * n + r)
        loader.set_epoch(0)
        return [(x.float(), t) for x, t in loader]

    rows = []
    for n in cfg.sizes:
        samples = [sample(n, r) for r in range(cfg.repeats)]
        for m in cfg.measures:
            t0 = time.perf_counter()
            unit_sets, selections = [], []
            for r, batches in enumerate(samples):
                with preserved_modes(model):
                    model.eval()
                    s = importance(model, m, batches, unit="filter", temperature=ecfg.importance_temperature(m),
                                   seed=ecfg.seed * 1_000_003 + r)
                us = pruner.unit_scores(model, s)
                unit_sets.append(torch.cat([torch.from_numpy(us[g.name]) for g in pruner.groups]).numpy())
                chosen = pruner.select(us, count)
                selections.append({(g, i) for g, pos in chosen.items() for i in pos})
            seconds = time.perf_counter() - t0
            spread = ranking_spread(unit_sets, fraction)
            jac = jaccard_pairs(selections)
            row = {"measure": m, "sample_size": n, "repeats": cfg.repeats, "units": spread.units,
                   "rank_corr": spread.summary()["rank_corr"],
                   "pruned_jaccard": {"mean": sum(jac) / len(jac), "min": min(jac)},
                   "pruned_units": len(selections[0]), "median_rel_spread": spread.median_rel_spread,
                   "score_seconds_per_sample": seconds / cfg.repeats}
            rows.append(row)
            if progress:
                print(f"[spread] {m:<32} n={n:<5} ρ mean {row['rank_corr']['mean']:.3f} min "
                      f"{row['rank_corr']['min']:.3f}  pruned-set Jaccard mean {row['pruned_jaccard']['mean']:.3f}  "
                      f"{row['score_seconds_per_sample']:.1f} s/sample", file=sys.stderr, flush=True)
    return {"kind": "importance_spread", "config": cfg.canonical(), "study": meta.get("run_id"),
            "study_config": meta.get("config"), "arch": ecfg.arch, "checkpoint_epoch": cfg.checkpoint,
            "fraction": fraction, "rows": rows, "data_arrays_sha256": digest,
            "threads": torch.get_num_threads(), "provenance": prov}


def format_table(result: dict) -> str:
    lines = [f"importance-sample spread — {result['arch']}, study {result['study']}, checkpoint e"
             f"{result['checkpoint_epoch']}, pruned fraction {result['fraction']:.4f}",
             f"{'measure':<32} {'n':>5} {'ρ mean':>7} {'ρ min':>7} {'J mean':>7} {'J min':>7} {'rel.spread':>10} {'s/sample':>9}"]
    for r in result["rows"]:
        rel = r["median_rel_spread"]
        lines.append(f"{r['measure']:<32} {r['sample_size']:>5} {r['rank_corr']['mean']:>7.3f} "
                     f"{r['rank_corr']['min']:>7.3f} {r['pruned_jaccard']['mean']:>7.3f} {r['pruned_jaccard']['min']:>7.3f} "
                     f"{('—' if rel is None else f'{rel:.3f}'):>10} {r['score_seconds_per_sample']:>9.1f}")
    return "\n".join(lines)
