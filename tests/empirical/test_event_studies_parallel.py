"""Event studies several at a time (``empirical.sweep.run_studies``, the stage-2 campaign and
``gftheory events --jobs``): a study fixes and records its own thread count, its flags rebuild
exactly its config, and two studies run at once in their own processes record the same numbers
as the same studies run one after another in this process."""
from __future__ import annotations

import argparse
import json

import pytest
import torch

from empirical import events as ev
from empirical.commands.events import add_arguments, configs_from_args
from empirical.events import config_to_argv
from empirical.sweep import run_studies
from gftheory import runstore
from test_cli_empirical import write_cifar10

TINY = dict(arch="mobilenet_v1", checkpoints=(1,), measures=("magnitude", "random"), importance_samples=32,
            probe_size=16, val_size=50, holdout_size=100, recovery_steps=4, recovery_eval=(2, 4),
            batch_size=32, max_train_samples=192, later_rounds=(2,), units_per_checkpoint=2, unit_probe_size=8,
            random_draws=1, probe_chunk=8)


def _parse(argv):
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


@pytest.mark.parametrize("cfg", [
    ev.EventConfig(), ev.EventConfig(edition=1), ev.EventConfig(arch="vgg13", seed=12),
    ev.EventConfig(**TINY, seed=101),
    ev.EventConfig(arch="mobilenet_v1", dataset="cifar100", checkpoints=(2, 5, 9), lr=0.05, temperature=2.5,
                   measures=("random", "loss_preservation"), quota_measures=(), layer_random_measures=("random",),
                   channels_last=False, floor_fraction=0.1, recovery_eval=(1, 3), recovery_steps=3)],
    ids=["edition2-default", "edition1-default", "vgg13-seed12", "tiny", "custom"])
def test_the_flags_rebuild_exactly_the_config(cfg):
    (back,) = configs_from_args(_parse(config_to_argv(cfg)))
    assert back == cfg and back.run_id() == cfg.run_id()
    assert back.canonical() == cfg.canonical()


def _numbers(study) -> list[dict]:
    """A study's records without what a clock measured (seconds) or which machine ran it."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if "seconds" not in k}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return [strip(r) for r in runstore.read_events(study)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"), per_batch=120)


def test_two_studies_at_once_record_what_one_after_another_records(data_dir, tmp_path):
    """Run one after another in this process (which uses 2 torch threads: each study still computes
    with STUDY_CPU_THREADS, records it, and leaves the caller's count as it was), then both at once in
    their own processes: the same records, clocks aside."""
    cfgs = [ev.EventConfig(**TINY, seed=s) for s in (100, 101)]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sequential = [ev.ensure_study(c, tmp_path / "one", data_dir=data_dir, progress=False) for c in cfgs]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    parallel = run_studies(cfgs, tmp_path / "two", jobs=2, data_dir=data_dir, progress=False)
    assert [p.name for p in parallel] == [p.name for p in sequential] == [c.run_id() for c in cfgs]
    for a, b in zip(sequential, parallel):
        assert runstore.is_complete(b), (b.parent / ".logs" / f"{b.name}.log").read_text()[-2000:]
        assert _numbers(a) == _numbers(b)
        for d in (a, b):
            prov = runstore.read_config(d)["provenance"]
            assert prov["cpu_threads_fixed_by_run"] == ev.STUDY_CPU_THREADS == prov["threads"] == 1
    assert _numbers(sequential[0]) != _numbers(sequential[1])          # the seeds differ: a real comparison
    again = run_studies(cfgs, tmp_path / "two", jobs=2, data_dir=data_dir, progress=False)   # complete: skipped
    assert [json.dumps(_numbers(p)) for p in again] == [json.dumps(_numbers(p)) for p in parallel]


def test_jobs_below_one_is_refused_before_any_work(tmp_path, capsys):
    from gftheory.cli import main
    assert main(["events", "--jobs", "0", "--seeds", "100-101", "--root", str(tmp_path / "r")]) == 2
    assert "--jobs 0" in capsys.readouterr().err and not (tmp_path / "r").exists()
