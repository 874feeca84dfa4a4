"""Backbones fine-tuned on a catalogue's categories: a base backbone whose last stages were retrained, plus a
linear projection. Saved as one small file (the retrained part only); the shipped default is one of them."""

from __future__ import annotations

from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from torch import nn

from outfitter.utils.atomic import atomic_path
from outfitter.backbones.registry import BackboneSpec, Trunk, get_spec, register, register_file_kind
from outfitter.errors import InputError

TUNED_FORMAT = "outfitter-tuned-backbone/1"
SHIPPED_NAME = "efficientnet_lite0_fashion"
SHIPPED_DIM = 256


class TunedNet(nn.Module):
    """Frozen stem -> retrained head (pooled) -> linear projection to the tuned width."""

    def __init__(self, stem: nn.Module, head: nn.Module, proj: nn.Linear) -> None:
        super().__init__()
        self.stem, self.head, self.proj = stem, head, proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.head(self.stem(x)).flatten(1))


def tuned_net(base_name: str, dim: int, *, pretrained: bool = True) -> TunedNet:
    """A fresh tunable network on the named base backbone (its pretrained weights, a random projection), in eval
    mode: BatchNorm keeps the base's statistics, in tuning as in use."""
    spec = get_spec(base_name)
    trunk = spec.trunk_for_tuning(spec.build(None, pretrained))
    return TunedNet(trunk.stem, trunk.head, nn.Linear(spec.dim, dim, bias=False)).eval()


def save_tuned(path: str | Path, net: TunedNet, base_name: str, meta: dict[str, Any]) -> Path:
    """Write the retrained head and projection (float16) with their base's name, atomically."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()
             if not k.startswith("stem.")}
    payload = {"format": TUNED_FORMAT, "base": base_name, "dim": net.proj.out_features, "state": state, "meta": meta}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_tuned(path: Path) -> dict[str, Any]:
    """A tuned-backbone file's payload, checked."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for foreign files
        raise InputError(f"not a tuned-backbone file ({str(exc).splitlines()[0]})", path=path) from exc
    if not isinstance(payload, dict) or payload.get("format") != TUNED_FORMAT:
        raise InputError("not a tuned-backbone file made by `outfitter tune`", path=path)
    return payload


def _build(path: Path, weights: str | Path | None, pretrained: bool) -> nn.Module:
    payload = read_tuned(path)
    net = tuned_net(payload["base"], payload["dim"], pretrained=pretrained)
    if pretrained:
        state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state"].items()}
        missing = net.load_state_dict(state, strict=False).missing_keys
        if any(not k.startswith("stem.") for k in missing):
            raise InputError(f"tuned-backbone file does not fit its base {payload['base']}", path=path)
    return net


def _split(net: TunedNet) -> Trunk:
    return Trunk(net.stem, nn.Sequential(net.head, nn.Flatten(1), net.proj))


def tuned_spec(path: Path, name: str | None = None) -> BackboneSpec:
    """The registry entry of a tuned-backbone file (named by its absolute path unless a name is given)."""
    payload = read_tuned(path)
    base = get_spec(payload["base"])
    meta = payload.get("meta", {})
    return BackboneSpec(
        name=name or str(path.resolve()),
        dim=int(payload["dim"]),
        preprocess=base.preprocess,
        build=partial(_build, path),
        split=_split,
        description=f"{payload['base']} fine-tuned on {meta.get('source', 'a catalogue')}, {payload['dim']}-d",
    )


def shipped_path() -> Path:
    """The tuned weights shipped inside the package."""
    return Path(str(files("outfitter") / "weights" / f"{SHIPPED_NAME}.pt"))


SHIPPED = register(
    BackboneSpec(
        name=SHIPPED_NAME,
        dim=SHIPPED_DIM,
        preprocess=get_spec("efficientnet_lite0").preprocess,
        build=lambda weights, pretrained: _build(Path(weights) if weights else shipped_path(), None, pretrained),
        split=_split,
        description="efficientnet_lite0 fine-tuned on clothing photos (shipped, offline; the default), "
        f"{SHIPPED_DIM}-d",
    )
)

register_file_kind(".pt", tuned_spec)
