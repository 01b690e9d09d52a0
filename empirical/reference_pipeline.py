"""A reference-style input pipeline, as the authors' code runs it: fp32 samples augmented one at a
time on the CPU inside a ``Dataset`` and batched by a ``torch.utils.data.DataLoader`` with worker
processes. No torchvision: crop / flip / normalise are written here with plain torch ops, per
sample, as ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip`` + ``ToTensor`` + ``Normalize``.

It serves two purposes: the baseline that ``gftheory bench`` times our device pipeline against,
and an independent per-sample implementation the tests check the batched gather against.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from empirical.pipeline import PAD, PAPER_MEAN, PAPER_STD


def reference_augment(image: Tensor, dy: int, dx: int, flip: bool, pad: int = PAD) -> Tensor:
    """One uint8 image (C, H, W): paste it into a zero canvas (C, H+2·pad, W+2·pad), cut the
    H×W window at (dy, dx), mirror left-right if ``flip``."""
    c, h, w = image.shape
    canvas = torch.zeros((c, h + 2 * pad, w + 2 * pad), dtype=image.dtype)
    canvas[:, pad:pad + h, pad:pad + w] = image
    crop = canvas[:, dy:dy + h, dx:dx + w]
    return torch.flip(crop, dims=[2]) if flip else crop.clone()


def reference_normalize(image: Tensor, mean=PAPER_MEAN, std=PAPER_STD) -> Tensor:
    """ToTensor + Normalize of one uint8 image: channel by channel, (x/255 − mean_c)/std_c, fp32."""
    x = image.to(torch.float32) / 255.0
    out = torch.empty_like(x)
    for ch in range(x.shape[0]):
        out[ch] = (x[ch] - float(mean[ch])) / float(std[ch])
    return out


class ReferenceCifarDataset(Dataset):
    """Per-sample CPU augmentation from the worker's global torch RNG (as torchvision does)."""

    def __init__(self, images_uint8: Tensor, labels: Tensor, *, train: bool, mean=PAPER_MEAN,
                 std=PAPER_STD, pad: int = PAD):
        self.images = images_uint8.cpu().contiguous()
        self.labels = torch.as_tensor(labels).cpu().to(torch.int64)
        self.train, self.mean, self.std, self.pad = train, tuple(mean), tuple(std), pad

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int):
        img = self.images[i]
        if self.train:
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2,)).tolist()
            flip = bool(torch.rand(()) < 0.5)
            img = reference_augment(img, dy, dx, flip, self.pad)
        return reference_normalize(img, self.mean, self.std), self.labels[i]


def reference_loader(images_uint8: Tensor, labels: Tensor, *, batch_size: int = 128, train: bool = True,
                     num_workers: int = 2, seed: int = 0, pin_memory: bool = False) -> DataLoader:
    """The authors'-style loader: shuffled (train), per-sample workers, fp32 batches on the CPU."""
    gen = torch.Generator().manual_seed(int(seed))
    return DataLoader(ReferenceCifarDataset(images_uint8, labels, train=train), batch_size=batch_size,
                      shuffle=train, num_workers=num_workers, generator=gen, pin_memory=pin_memory)


__all__ = ["reference_augment", "reference_normalize", "ReferenceCifarDataset", "reference_loader"]
