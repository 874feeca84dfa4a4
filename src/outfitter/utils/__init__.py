"""Small utilities shared by every stage: crash-safe file writes, module digests, item-id rules."""
