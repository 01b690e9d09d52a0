"""The input pipeline: the dataset as a uint8 tensor on the device, augmentation on the device.

Training batches follow the paper's transform (torchvision ``RandomCrop(32, padding=4)`` on the
image, ``RandomHorizontalFlip``, ``Normalize(mean, std)`` with mean = std = (0.5, 0.5, 0.5)):

    x̃ = flip_f( pad₄(x)[:, dy : dy+32, dx : dx+32] ),   x_norm = (x̃/255 − mean) / std,

with the padding zero in pixel space (before normalisation), (dy, dx) uniform on {0..8}², and
f ~ Bernoulli(½). The batch is produced by one advanced-indexing gather from the dataset padded
once at construction — no Python loop over samples. The random draws (shuffle permutation, crop
offsets, flips) come from a CPU ``torch.Generator`` seeded by (seed, epoch) and are copied to the
device once per epoch, so CPU and CUDA serve the same batches.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

PAPER_MEAN = (0.5, 0.5, 0.5)
PAPER_STD = (0.5, 0.5, 0.5)
PAD = 4


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator of one epoch's draws; distinct (seed, epoch) pairs give distinct streams."""
    mixed = (int(seed) * 0x9E3779B97F4A7C15 + int(epoch) * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB)
    return torch.Generator().manual_seed(mixed % (2 ** 63 - 1))


def draw_augmentation(n: int, generator: torch.Generator, pad: int = PAD) -> tuple[Tensor, Tensor]:
    """(offsets int64 (n, 2) = (dy, dx) uniform on {0..2·pad}², flips bool (n,)) on the CPU."""
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    flips = torch.randint(0, 2, (n,), generator=generator).bool()
    return offsets, flips


def gather_crops(padded: Tensor, index: Tensor | None, offsets: Tensor, flips: Tensor, size: int,
                 channels_last: bool = False) -> Tensor:
    """out[b, c, i, j] = padded[index[b], c, dy_b + i, dx_b + (size−1−j if flip_b else j)]:
    crop and mirror a batch in one gather. With ``channels_last`` the result is NCHW-shaped with
    channels-last strides (gathered as NHWC and permuted, no extra copy)."""
    dev = padded.device
    n = offsets.shape[0]
    ar = torch.arange(size, device=dev)
    rows = offsets[:, :1] + ar                                              # (B, size)
    cols = torch.where(flips[:, None], offsets[:, 1:] + (size - 1) - ar, offsets[:, 1:] + ar)
    b = (torch.arange(n, device=dev) if index is None else index)
    ch = torch.arange(padded.shape[1], device=dev)
    if channels_last:
        out = padded[b[:, None, None, None], ch[None, None, None, :], rows[:, :, None, None],
                     cols[:, None, :, None]]                                # (B, H, W, C)
        return out.permute(0, 3, 1, 2)
    return padded[b[:, None, None, None], ch[None, :, None, None], rows[:, None, :, None],
                  cols[:, None, None, :]]                                   # (B, C, H, W)


def crop_flip(images: Tensor, offsets: Tensor, flips: Tensor, pad: int = PAD) -> Tensor:
    """Random-crop-with-zero-padding and flip of a uint8 batch (B, C, H, W) for given draws."""
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"square images expected, got {tuple(images.shape[-2:])}")
    padded = F.pad(images, (pad, pad, pad, pad))
    return gather_crops(padded, None, offsets.to(images.device), flips.to(images.device),
                        images.shape[-1])


def normalize(images: Tensor, mean: Tensor, std: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """(x/255 − mean)/std in float32, then cast to ``dtype``; keeps the memory format."""
    x = images.to(torch.float32).div_(255.0).sub_(mean).div_(std)
    return x if dtype == torch.float32 else x.to(dtype)


def _channel_tensor(values, device) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.float32).reshape(1, -1, 1, 1)
    if t.shape[1] != 3:
        raise ValueError(f"mean/std need 3 values (one per channel), got {tuple(values)}")
    return t.to(device)


class DeviceLoader:
    """Iterable of ``(x, y)`` batches from a uint8 dataset held on ``device``.

    ``train=True``: seeded shuffle + random crop (4-pixel zero padding) + horizontal flip;
    ``train=False``: the samples in order, normalisation only. ``len()`` is the number of
    batches per epoch. Each ``iter()`` serves epoch ``self.epoch`` and then advances it by one;
    ``set_epoch(e)`` selects the epoch whose draws the next ``iter()`` uses.
    """

    def __init__(self, images_uint8: Tensor, labels: Tensor, *, batch_size: int, train: bool,
                 seed: int = 0, device=None, mean=PAPER_MEAN, std=PAPER_STD, drop_last: bool = False,
                 dtype: torch.dtype = torch.float32, channels_last: bool = False):
        if images_uint8.dtype != torch.uint8 or images_uint8.dim() != 4:
            raise ValueError(f"images must be a uint8 tensor (N, C, H, W), got {images_uint8.dtype} "
                             f"of shape {tuple(images_uint8.shape)}")
        labels = torch.as_tensor(labels)
        if labels.shape != (images_uint8.shape[0],):
            raise ValueError(f"labels must have shape ({images_uint8.shape[0]},), got {tuple(labels.shape)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device) if device is not None else images_uint8.device
        self.batch_size, self.train, self.seed = int(batch_size), bool(train), int(seed)
        self.drop_last, self.dtype, self.channels_last = bool(drop_last), dtype, bool(channels_last)
        self.num_samples, self.size = images_uint8.shape[0], images_uint8.shape[-1]
        self.labels = labels.to(self.device, torch.int64)
        images = images_uint8.to(self.device)
        if self.train:
            self.images = F.pad(images, (PAD, PAD, PAD, PAD))   # padded once, zeros in pixel space
        else:
            self.images = (images.contiguous(memory_format=torch.channels_last) if self.channels_last
                           else images.contiguous())
        self.mean = _channel_tensor(mean, self.device)
        self.std = _channel_tensor(std, self.device)
        self.epoch = 0

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def epoch_draws(self, epoch: int) -> tuple[Tensor, Tensor, Tensor]:
        """(permutation, offsets, flips) of one epoch, on the CPU."""
        gen = epoch_generator(self.seed, epoch)
        perm = torch.randperm(self.num_samples, generator=gen)
        offsets, flips = draw_augmentation(self.num_samples, gen)
        return perm, offsets, flips

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        bs = self.batch_size
        if self.train:
            perm, offsets, flips = (t.to(self.device, non_blocking=True) for t in self.epoch_draws(epoch))
        for k in range(len(self)):
            lo, hi = k * bs, min((k + 1) * bs, self.num_samples)
            if self.train:
                idx = perm[lo:hi]
                x = gather_crops(self.images, idx, offsets[lo:hi], flips[lo:hi], self.size,
                                 self.channels_last)
                y = self.labels[idx]
            else:
                x, y = self.images[lo:hi], self.labels[lo:hi]
            yield normalize(x, self.mean, self.std, self.dtype), y


__all__ = ["PAPER_MEAN", "PAPER_STD", "PAD", "DeviceLoader", "epoch_generator", "draw_augmentation",
           "gather_crops", "crop_flip", "normalize"]
