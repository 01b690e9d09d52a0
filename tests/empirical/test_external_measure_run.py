"""A measure from outside the package runs through the prune-while-training engine exactly as a
registered one: a ``module:Class`` measure computing |θ_i g_i| summed per filter (the elementwise
loss-preservation score) prunes the same units, round by round, as the registered
``loss_preservation_elementwise`` on the same seed; an unimportable one is refused before work."""
from __future__ import annotations

import pytest

from empirical import runner
from empirical.config import ConfigError, RunConfig
from gftheory import runstore
from test_cli_empirical import write_cifar10

TINY = dict(max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40,
            probe_size=8, max_test_samples=64)
MODULE = '''
from gftheory.measures import Measure
class ElementwiseCopy(Measure):
    name = "elementwise_copy"
    needs = ("grad",)
    importance_temperature = None
    def parameter_scores(self, q):
        return (q.theta * q.grad).abs()
'''

pytestmark = pytest.mark.usefixtures("single_thread")


def test_external_measure_prunes_like_its_registered_twin(tmp_path, monkeypatch):
    (tmp_path / "ext_measure_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = write_cifar10(tmp_path / "data")
    removed = {}
    for m in ("ext_measure_mod:ElementwiseCopy", "loss_preservation_elementwise"):
        cfg = RunConfig.preset("smoke", arch="vgg13", measure=m, seed=100, **TINY)
        d = runner.ensure_run(cfg, tmp_path / "runs", device="cpu", data_dir=data, progress=False)
        removed[m] = [e["removed"] for e in runstore.read_metrics(d) if e["kind"] == "prune_event"]
        assert runstore.is_complete(d)
    a, b = removed.values()
    assert a and a == b


def test_unimportable_external_measure_is_refused_before_work(tmp_path):
    with pytest.raises(ConfigError, match="cannot import module"):
        RunConfig.preset("smoke", measure="no_such_module_xyz:Thing")
