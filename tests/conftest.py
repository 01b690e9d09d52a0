"""Hypothesis profiles: ``ci`` (default, fast) and ``thorough`` (≥ 10× the examples).
Select with GFTHEORY_PROFILE=ci|thorough."""
import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from gftheory.profiles import PROFILES, profile_name

for _name, _p in PROFILES.items():
    settings.register_profile(_name, max_examples=_p.max_examples, deadline=None, derandomize=_p.derandomize,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                     HealthCheck.filter_too_much])
settings.load_profile(profile_name())
# Tiny float64 problems gain nothing from intra-op threads and lose a lot on a busy machine;
# GFTHEORY_TORCH_THREADS overrides.
torch.set_num_threads(int(os.environ.get("GFTHEORY_TORCH_THREADS", "1")))


@pytest.fixture
def single_thread():
    """One torch thread while a property runs (tiny models), restored afterwards."""
    from gftheory.checks.runner import single_thread as one_thread
    with one_thread():
        yield


if os.environ.get("GFTHEORY_NO_SHRINK") == "1":
    # scripts/mutation_check.py: a failing example is a catch; shrinking it only costs time
    from hypothesis import Phase
    settings.register_profile("_no_shrink", parent=settings.get_profile(profile_name()),
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("_no_shrink")


@pytest.fixture(scope="session")
def proof_results(tmp_path_factory, worker_id):
    """Every symbolic proof, computed once per test run (about a minute on 2 cores) and shared by
    tests/symbolic/test_proofs.py, tests/claims/test_claims.py and the report tests. Keyed by
    statement id; values are ProofResult objects. Under pytest-xdist the first worker that needs
    them computes them under a file lock and pickles them into the run's shared temporary
    directory; the other worker waits for the lock and reads them (one computation per run)."""
    import pickle

    from filelock import FileLock

    from proofs import run_proofs
    if worker_id == "master":  # not under xdist
        return {r.id: r for r in run_proofs(jobs=2)}
    shared = tmp_path_factory.getbasetemp().parent / "proof_results.pickle"
    with FileLock(str(shared) + ".lock"):
        if shared.is_file():
            return pickle.loads(shared.read_bytes())
        results = {r.id: r for r in run_proofs(jobs=2)}
        shared.write_bytes(pickle.dumps(results))
        return results


@pytest.fixture(scope="session")
def proof_results_session(proof_results):
    """The same session-wide proof results under the name some tests use."""
    return proof_results


def nontrivial_bn(model):
    """Give every BatchNorm of ``model`` non-trivial running statistics and affine parameters
    (seeded by the caller's torch RNG), so behaviour that only matters with real statistics shows."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model


# One xdist group per test file, so a file's module-scoped fixtures (a Ray instance, a written
# dataset) are set up once, on one worker (the session's proof results are shared through a file:
# see proof_results).
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.path.relative_to(config.rootpath).as_posix()))


def optional_module(name: str, extra: str):
    """The optional dependency ``name`` (the project's extra ``extra``): skipped when it is not
    installed, except under GFTHEORY_REQUIRE_EXTRAS=1 (.ci/run installs every extra the README's
    test install names, so there a missing one is a failure, not a silent skip)."""
    import importlib
    import os

    import pytest
    if os.environ.get("GFTHEORY_REQUIRE_EXTRAS"):
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"the optional extra {extra!r} is not installed: pip install -e '.[{extra}]'")


def fake_distribution(tmp_path, monkeypatch, name: str, value: str) -> None:
    """An installed distribution (a .dist-info on sys.path) declaring one ``gftheory.measures``
    entry point ``name = value``; the entry-point cache and MEASURES' external cache are reset, so
    the next lookup sees it (call ``external.refresh_entry_points()`` again after the test)."""
    from gftheory import external
    from gftheory.measures import MEASURES
    d = tmp_path / "site" / "ext_measures_pkg-0.1.dist-info"
    d.mkdir(parents=True)
    (d / "METADATA").write_text("Metadata-Version: 2.1\nName: ext-measures-pkg\nVersion: 0.1\n")
    (d / "entry_points.txt").write_text(f"[{external.ENTRY_POINT_GROUP}]\n{name} = {value}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    external.refresh_entry_points()
    monkeypatch.setattr(MEASURES, "_external", {})
