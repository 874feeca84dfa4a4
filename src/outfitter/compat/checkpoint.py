"""One-file checkpoints of compatibility models: a plain dict saved with torch.save, loaded with weights_only."""

from __future__ import annotations

import json
import pickle
import zipfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch

from outfitter.utils.atomic import atomic_path
from outfitter.compat.base import CompatModel
from outfitter.compat.mlp import CompatibilityMLP
from outfitter.compat.registry import get_kind, list_kinds
from outfitter.errors import InputError

FORMAT = "outfitter-compat"
SHIPPED_MODEL = "garment_street"  # the default model: GarmentNet trained on street-outfits (tools/make_default_compat.py)
VERSION = 1


def shipped_model_path() -> Path:
    """The default compatibility model shipped inside the package."""
    return Path(str(files("outfitter") / "weights" / f"{SHIPPED_MODEL}.pt"))


def save_checkpoint(model: CompatModel, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write model (kind, backbone, sizes, config, state dict) plus meta (hyper-parameters, metrics) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": model.kind,
        "backbone": model.backbone_name,
        "embed_dim": int(model.embed_dim),
        "config": _plain(model.config()),
        "meta": _plain(meta or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as temp:
        torch.save(payload, temp)
    return path


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """Only JSON-like values (paths become strings), so weights_only loading accepts them."""
    return json.loads(json.dumps(value, default=str))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's dict, or an InputError saying why the file is not an outfitter checkpoint."""
    payload = _torch_load(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        hint = " (a bare original MLP state dict: use load_original_mlp)" if _is_mlp_state(payload) else ""
        raise InputError(f"not an outfitter compatibility checkpoint{hint}", path=path)
    if payload.get("kind") not in list_kinds():
        raise InputError(f"unknown model kind {payload.get('kind')!r}", path=path, field="kind")
    return payload


def load_model(path: str | Path) -> tuple[CompatModel, dict[str, Any]]:
    """The model in eval mode, and the checkpoint's other entries (kind, backbone, config, meta)."""
    payload = read_checkpoint(path)
    try:
        model = get_kind(payload["kind"]).from_config(payload["config"])
    except TypeError as error:
        raise InputError(f"unsupported model settings: {error}", path=path, field="config") from error
    _load_state(model, payload["state_dict"], path)
    return model.eval(), {k: v for k, v in payload.items() if k != "state_dict"}


def load_original_mlp(state_dict_path: str | Path, *, backbone: str = "resnet50") -> CompatibilityMLP:
    """A CompatibilityMLP from the original's bare state dict (fc.0.*, fc.2.*), expecting raw backbone vectors."""
    state = _torch_load(state_dict_path)
    if not _is_mlp_state(state):
        raise InputError("not a CompatibilityMLP state dict (expected fc.0.weight, fc.0.bias, fc.2.weight, fc.2.bias)",
                         path=state_dict_path)
    hidden, width = state["fc.0.weight"].shape
    model = CompatibilityMLP(width // 2, hidden_dim=hidden, backbone=backbone, input_norm="raw")
    _load_state(model, state, state_dict_path)
    return model.eval()


def _torch_load(path: str | Path) -> Any:
    """torch.load with weights_only, turning a missing or foreign file into an InputError."""
    if not Path(path).is_file():
        raise InputError("file not found", path=path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as error:
        raise InputError(f"not an outfitter compatibility checkpoint ({str(error).splitlines()[0]})", path=path) from error


def _is_mlp_state(state: Any) -> bool:
    """Whether state looks like the original MLP's state dict."""
    return isinstance(state, dict) and {"fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias"} <= set(state)


def _load_state(model: CompatModel, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load a state dict strictly, reporting mismatches as an InputError on the file."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise InputError(f"weights do not fit the model: {' '.join(str(error).split())[:300]}", path=path) from error
