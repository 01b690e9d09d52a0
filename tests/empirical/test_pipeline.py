"""empirical.pipeline: the batched device augmentation against the independent per-sample
reference (same draws → identical pixels), padding / flip / normalisation checked directly,
seeded determinism and epoch streams, and the reference DataLoader pipeline."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, strategies as st

from empirical.pipeline import (PAD, PAPER_MEAN, PAPER_STD, DeviceLoader, crop_flip, draw_augmentation,
                                epoch_generator, normalize)
from empirical.reference_pipeline import (ReferenceCifarDataset, reference_augment, reference_loader,
                                          reference_normalize)


def _images(n, size=32, seed=0, low=1):
    g = torch.Generator().manual_seed(seed)
    # pixels >= 1, so a 0 can only come from the padding
    return torch.randint(low, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)


@given(n=st.integers(1, 6), size=st.sampled_from([8, 12, 32]), seed=st.integers(0, 2 ** 31 - 1))
def test_crop_flip_matches_per_sample_reference(n, size, seed):
    x = _images(n, size, seed)
    offsets, flips = draw_augmentation(n, torch.Generator().manual_seed(seed))
    got = crop_flip(x, offsets, flips)
    want = torch.stack([reference_augment(x[i], int(offsets[i, 0]), int(offsets[i, 1]), bool(flips[i]))
                        for i in range(n)])
    assert got.dtype == torch.uint8 and torch.equal(got, want)


def test_every_offset_and_flip_against_reference():
    combos = [(dy, dx, f) for dy in range(2 * PAD + 1) for dx in range(2 * PAD + 1) for f in (False, True)]
    x = _images(1).expand(len(combos), -1, -1, -1)
    got = crop_flip(x, torch.tensor([c[:2] for c in combos]), torch.tensor([c[2] for c in combos]))
    for k, (dy, dx, f) in enumerate(combos):
        assert torch.equal(got[k], reference_augment(x[0], dy, dx, f)), (dy, dx, f)


def test_padding_zeros_only_where_expected():
    """All-nonzero images: the zero pixels of a crop are exactly the rows/columns that fall in the
    4-pixel border: max(0, 4−dy) rows on top, max(0, dy−4) at the bottom, likewise columns
    (mirrored when flipped)."""
    n = 400
    x = _images(n)
    offsets, flips = draw_augmentation(n, torch.Generator().manual_seed(1))
    out = crop_flip(x, offsets, flips)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        top, bottom, left, right = max(0, PAD - dy), max(0, dy - PAD), max(0, PAD - dx), max(0, dx - PAD)
        if flips[i]:
            left, right = right, left
        expect = torch.zeros(32, 32, dtype=torch.bool)
        expect[:top] = True
        expect[32 - bottom:] = True
        expect[:, :left] = True
        expect[:, 32 - right:] = True
        zero = (out[i] == 0)
        assert torch.equal(zero, expect.expand(3, 32, 32)), i
    # every offset value and both flips occur, roughly uniformly (9 values, 800 draws)
    counts = torch.bincount(offsets.reshape(-1), minlength=9)
    assert counts.numel() == 9 and int(counts.min()) > 50
    assert 150 < int(flips.sum()) < 250


def test_flip_is_exact_mirror_and_centre_crop_is_identity():
    x = _images(5)
    centre = torch.full((5, 2), PAD)
    assert torch.equal(crop_flip(x, centre, torch.zeros(5, dtype=torch.bool)), x)
    assert torch.equal(crop_flip(x, centre, torch.ones(5, dtype=torch.bool)), x.flip(-1))


def test_normalisation_exact():
    x = torch.arange(256, dtype=torch.uint8).repeat(12).reshape(1, 3, 32, 32)
    loader = DeviceLoader(x, torch.zeros(1, dtype=torch.long), batch_size=1, train=False)
    (xb, _), = list(loader)
    want = (x.double() / 255 - 0.5) / 0.5
    assert xb.dtype == torch.float32
    assert torch.allclose(xb.double(), want, atol=1e-7, rtol=0)
    assert float(xb.min()) == -1.0 and float(xb.max()) == 1.0
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    got = normalize(x, m, s)
    assert torch.allclose(got.double(), ((x.double() / 255) - m.double()) / s.double(), atol=1e-6, rtol=0)
    assert torch.equal(got[0], reference_normalize(x[0], mean, std))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_device_loader_equals_reference_given_its_draws(channels_last, dtype):
    n, bs = 37, 8
    x = _images(n, seed=4)
    y = torch.arange(n) % 10
    loader = DeviceLoader(x, y, batch_size=bs, train=True, seed=11, dtype=dtype, channels_last=channels_last)
    assert len(loader) == 5
    loader.set_epoch(3)
    batches = list(loader)
    perm, offsets, flips = loader.epoch_draws(3)
    assert sorted(perm.tolist()) == list(range(n))
    for k, (xb, yb) in enumerate(batches):
        sl = slice(k * bs, min((k + 1) * bs, n))
        idx = perm[sl]
        want = torch.stack([reference_normalize(reference_augment(x[i], int(o[0]), int(o[1]), bool(f)))
                            for i, o, f in zip(idx.tolist(), offsets[sl], flips[sl])]).to(dtype)
        assert xb.dtype == dtype and torch.equal(xb, want)
        assert torch.equal(yb, y[idx])
        assert xb.is_contiguous(memory_format=torch.channels_last) == channels_last or xb.shape[0] == 1
    assert [b[0].shape[0] for b in batches] == [8, 8, 8, 8, 5]


def test_seeded_determinism_and_epoch_streams():
    x, y = _images(50, seed=2), torch.arange(50) % 10

    def epoch(seed, e):
        ld = DeviceLoader(x, y, batch_size=16, train=True, seed=seed)
        ld.set_epoch(e)
        return torch.cat([b[0] for b in ld]), torch.cat([b[1] for b in ld])

    a = epoch(0, 0)
    assert all(torch.equal(u, v) for u, v in zip(a, epoch(0, 0)))
    assert not torch.equal(a[0], epoch(0, 1)[0])
    assert not torch.equal(a[0], epoch(1, 0)[0])
    # iter() advances the epoch; set_epoch rewinds it
    ld = DeviceLoader(x, y, batch_size=16, train=True, seed=0)
    first, second = torch.cat([b[0] for b in ld]), torch.cat([b[0] for b in ld])
    assert torch.equal(first, a[0]) and torch.equal(second, epoch(0, 1)[0]) and ld.epoch == 2
    # each epoch serves every sample exactly once
    assert sorted(a[1].tolist()) == sorted(y.tolist())
    assert epoch_generator(0, 1).initial_seed() != epoch_generator(1, 0).initial_seed()


def test_eval_loader_in_order_and_drop_last():
    x, y = _images(10), torch.arange(10)
    ev = DeviceLoader(x, y, batch_size=4, train=False, channels_last=True)
    got = list(ev)
    assert len(ev) == 3 and [b[1].tolist() for b in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert torch.equal(torch.cat([b[0] for b in got]), normalize(x, torch.full((1, 3, 1, 1), 0.5),
                                                                 torch.full((1, 3, 1, 1), 0.5)))
    tr = DeviceLoader(x, y, batch_size=4, train=True, drop_last=True)
    assert len(tr) == 2 and [b[0].shape[0] for b in tr] == [4, 4]


def test_device_loader_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        DeviceLoader(torch.zeros(2, 3, 32, 32), torch.zeros(2), batch_size=1, train=True)
    with pytest.raises(ValueError, match="labels must have shape"):
        DeviceLoader(_images(2), torch.zeros(3), batch_size=1, train=True)
    with pytest.raises(ValueError, match="batch_size"):
        DeviceLoader(_images(2), torch.zeros(2), batch_size=0, train=True)
    with pytest.raises(ValueError, match="3 values"):
        DeviceLoader(_images(2), torch.zeros(2), batch_size=1, train=True, mean=(0.5, 0.5))


def test_reference_dataset_and_loader():
    x, y = _images(12, seed=6), torch.arange(12) % 10
    ev = ReferenceCifarDataset(x, y, train=False)
    ours = list(DeviceLoader(x, y, batch_size=12, train=False))[0][0]
    assert torch.equal(torch.stack([ev[i][0] for i in range(12)]), ours)
    torch.manual_seed(0)
    tr = ReferenceCifarDataset(x, y, train=True)
    xi, yi = tr[3]
    assert xi.shape == (3, 32, 32) and xi.dtype == torch.float32 and int(yi) == 3
    # an augmented sample is one of the 162 crops/flips of its image
    cands = [reference_normalize(reference_augment(x[3], dy, dx, f))
             for dy in range(9) for dx in range(9) for f in (False, True)]
    assert any(torch.equal(xi, c) for c in cands)
    batches = list(reference_loader(x, y, batch_size=5, train=True, num_workers=0, seed=1))
    assert [b[0].shape[0] for b in batches] == [5, 5, 2]
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == sorted(y.tolist())
    assert PAPER_MEAN == PAPER_STD == (0.5, 0.5, 0.5)
