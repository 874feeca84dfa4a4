"""Find pretrained weight files offline: a path the user gives, or torchvision's download cache."""

from __future__ import annotations

from pathlib import Path

import torch

from outfitter.errors import WeightsNotFoundError


def torch_cache_dir() -> Path:
    """Where torchvision keeps downloaded checkpoints (honours TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_weights(model: str, filename: str, url: str, given: str | Path | None) -> Path:
    """The checkpoint to load: `given` if set, else torchvision's cached `filename`; else say how to get it."""
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"{model} weights not found at {path}")
        return path
    cached = torch_cache_dir() / filename
    if cached.is_file():
        return cached
    raise WeightsNotFoundError(
        f"{model} ImageNet weights are not on this machine (looked for {cached}). "
        f"On a machine with internet, download {url} and either copy it to {cached} "
        f"or pass its path with --weights PATH. The offline default backbone efficientnet_lite0 needs no download."
    )


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors, loaded safely (weights_only) onto the CPU."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state
