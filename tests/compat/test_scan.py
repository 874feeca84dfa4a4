"""The compiled scans: exact scores equal a float64 reference, screen bounds contain them, caching is optional."""

from __future__ import annotations

import numpy as np

from outfitter.compat import scan


def reference(projections, queries, weights, bias, rows):
    """Mean over query items of sigmoid(bias + weights . relu(p + a)), in float64."""
    p = projections[rows].astype(np.float64)
    logits = np.stack([np.maximum(p + a, 0) @ weights + bias for a in queries.astype(np.float64)])
    return (1 / (1 + np.exp(-logits))).mean(0)


def test_exact_scan_and_screen_bounds_against_a_float64_reference():
    rng = np.random.default_rng(0)
    projections = rng.standard_normal((500, 40)).astype(np.float32)
    queries = rng.standard_normal((5, 40)).astype(np.float32)
    weights = rng.standard_normal(40).astype(np.float32) * 0.3
    rows = rng.permutation(500)[:300]
    expected = reference(projections, queries, weights, 0.2, rows)
    got = scan.exact_mean_probs(projections, queries, weights, 0.2, rows)
    assert np.max(np.abs(got - expected)) < 1e-6
    scales = np.abs(projections).max(0) / 127
    codes = np.rint(projections / scales).astype(np.int8)
    error = np.abs(projections - codes * scales) @ np.abs(weights)
    low, high = scan.screen_bounds(codes, scales, queries, weights, 0.2, np.exp(error * 1.01 + 1e-4),
                                   np.full(5, np.exp(1e-4)), rows)
    assert np.all(low <= expected) and np.all(expected <= high)
    assert np.max(high - low) < 0.2


def test_without_a_writable_cache_the_kernels_compile_uncached(monkeypatch):
    calls = []

    def fake_njit(**options):
        calls.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return lambda function: function

    monkeypatch.setattr(scan, "njit", fake_njit)
    compiled = scan._compiled(parallel=True)(len)
    assert compiled is len and calls == [{"cache": True, "parallel": True}, {"parallel": True}]
