"""Defaults shared by the library, the CLI and the service (no imports, so the CLI starts fast)."""

# The shipped EfficientNet-Lite0 fine-tuned on clothing photos: offline, and the best measured precision.
DEFAULT_BACKBONE = "efficientnet_lite0_fashion"
