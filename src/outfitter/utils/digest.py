"""Short content hashes of models' tensors: cache files are keyed by them, so new weights never reuse old results."""

from __future__ import annotations

import hashlib

import torch
from torch import nn


def module_digest(module: nn.Module, salt: str = "") -> str:
    """16 hex digits over `salt` and every tensor of the module's state dict (names, shapes and bytes)."""
    digest = hashlib.sha256(salt.encode())
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:16]
