"""The dense-Hessian oracle agrees with double-backprop HVPs and with finite differences of g,
also with BatchNorm in train mode, where torch.func.hessian is silently wrong."""
import torch
from torch import nn

import gftheory


def _net(bn: bool):
    torch.manual_seed(0)
    layers = [nn.Conv2d(3, 4, 3)] + ([nn.BatchNorm2d(4)] if bn else []) + [
        nn.Tanh(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5)]
    return nn.Sequential(*layers).double()


def test_dense_hessian_matches_hvp_and_finite_differences():
    for bn in (False, True):
        m = _net(bn)
        x = torch.randn(6, 3, 6, 6, dtype=torch.float64)
        y = torch.randint(0, 5, (6,))
        obj = gftheory.Objective(m, (x, y))
        g, th = obj.grad(), obj.theta()
        H = gftheory.dense_hessian(m, (x, y))
        eps = 1e-6
        fd = (obj.grad(th + eps * g) - obj.grad(th - eps * g)) / (2 * eps)
        hvp = obj.hvp(g)
        assert torch.allclose(H, H.T, atol=1e-12)
        assert torch.allclose(H @ g, hvp, rtol=1e-10, atol=1e-12)
        assert torch.allclose(fd, hvp, rtol=1e-6, atol=1e-8)


def test_torch_func_hessian_is_wrong_with_train_mode_batchnorm():
    """Documents why the oracle avoids torch.func: if this starts failing, torch fixed it."""
    m = _net(True)
    x = torch.randn(6, 3, 6, 6, dtype=torch.float64)
    y = torch.randint(0, 5, (6,))
    obj = gftheory.Objective(m, (x, y))
    Hf = torch.func.hessian(obj.loss)(obj.theta())
    assert (Hf - Hf.T).abs().max() > 1e-6
