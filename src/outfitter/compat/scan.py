"""Compiled catalogue scans for one-hidden-layer rankers: logit = b + w . relu(P_c + A_q), mean sigmoid over q.

Two numba kernels, each one parallel pass over the candidate rows with every query item handled while a row
sits in the L1 cache:
- `exact_mean_probs` reads float32 projections and computes the scores themselves;
- `screen_bounds` reads int8 codes (a quarter of the bytes) and returns, per row, a lower and an upper bound
  of the exact score; the ranker rescores only the rows whose upper bound reaches the k-th best lower bound.

The screen uses relu(s*c + A) = s * (max(c, -A/s) + A/s), so a code costs one max and one multiply-add.
Kernel launches are serialised: one scan already uses every core, and numba's default threading layer must
not be entered from two threads at once (the API server calls in from a thread pool).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit, prange

_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}  # lets the sums vectorise; no assumptions about inf/NaN
_CHUNK = 256  # rows per parallel task: one float buffer per task
_LOCK = threading.Lock()
_EXP_CAP = math.exp(80.0)


def _compiled(**options):
    """numba's njit with the on-disk cache when a cache folder is writable, without it otherwise (numba refuses
    `cache=True` where neither the package's __pycache__ nor NUMBA_CACHE_DIR / the user cache can be written)."""
    def wrap(function):
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError:
            return njit(**options)(function)

    return wrap


@_compiled(parallel=True, fastmath=_FASTMATH)
def _exact(projections, queries, weights, bias, rows, out):  # pragma: no cover - compiled
    n_queries, hidden = queries.shape
    for i in prange(rows.shape[0]):
        p = projections[rows[i]]
        total = 0.0
        for q in range(n_queries):
            a = queries[q]
            acc = np.float32(0.0)
            for h in range(hidden):
                acc += weights[h] * max(p[h] + a[h], np.float32(0.0))
            total += 1.0 / (1.0 + math.exp(-(acc + bias)))
        out[i] = total / n_queries


@_compiled(inline="always", fastmath=_FASTMATH)
def _max_dots(values, weights, floors, q, count, out):  # pragma: no cover - compiled
    """out[q : q + count] = weights . max(values, floors[j]) for `count` (1 to 4) query items in one sweep."""
    hidden = values.shape[0]
    if count == 4:
        f0, f1, f2, f3 = floors[q], floors[q + 1], floors[q + 2], floors[q + 3]
        a0 = a1 = a2 = a3 = np.float32(0.0)
        for h in range(hidden):
            x, w = values[h], weights[h]
            a0 += w * max(x, f0[h])
            a1 += w * max(x, f1[h])
            a2 += w * max(x, f2[h])
            a3 += w * max(x, f3[h])
        out[q], out[q + 1], out[q + 2], out[q + 3] = a0, a1, a2, a3
    elif count == 3:
        f0, f1, f2 = floors[q], floors[q + 1], floors[q + 2]
        a0 = a1 = a2 = np.float32(0.0)
        for h in range(hidden):
            x, w = values[h], weights[h]
            a0 += w * max(x, f0[h])
            a1 += w * max(x, f1[h])
            a2 += w * max(x, f2[h])
        out[q], out[q + 1], out[q + 2] = a0, a1, a2
    elif count == 2:
        f0, f1 = floors[q], floors[q + 1]
        a0 = a1 = np.float32(0.0)
        for h in range(hidden):
            x, w = values[h], weights[h]
            a0 += w * max(x, f0[h])
            a1 += w * max(x, f1[h])
        out[q], out[q + 1] = a0, a1
    else:
        f0 = floors[q]
        a0 = np.float32(0.0)
        for h in range(hidden):
            a0 += weights[h] * max(values[h], f0[h])
        out[q] = a0


@_compiled(parallel=True, fastmath=_FASTMATH)
def _screen(codes, weights, floors, offsets, bias, row_margin, query_margin, rows, low, high):  # pragma: no cover
    n_queries, hidden = floors.shape
    n = rows.shape[0]
    for task in prange((n + _CHUNK - 1) // _CHUNK):
        row_values = np.empty(hidden, np.float32)
        sums = np.empty(n_queries, np.float32)
        for i in range(task * _CHUNK, min(n, (task + 1) * _CHUNK)):
            r = rows[i]
            c = codes[r]
            for h in range(hidden):
                row_values[h] = np.float32(c[h])
            q = 0
            while q < n_queries:  # up to four query items per sweep of the row: the row is loaded once for them
                count = min(4, n_queries - q)
                _max_dots(row_values, weights, floors, q, count, sums)
                q += count
            lo = 0.0
            hi = 0.0
            for q in range(n_queries):
                z = np.float64(math.exp(np.float32(-(sums[q] + offsets[q] + bias))))  # expf: twice as fast as exp
                widen = row_margin[r] * query_margin[q]
                lo += 1.0 / (1.0 + z * widen)
                hi += 1.0 / (1.0 + min(z, _EXP_CAP) / widen)  # an overflowed z must not push the bound to 0
            low[i] = lo / n_queries
            high[i] = hi / n_queries


def exact_mean_probs(
    projections: np.ndarray, queries: np.ndarray, weights: np.ndarray, bias: float, rows: np.ndarray
) -> np.ndarray:
    """Mean over query items of sigmoid(bias + weights . relu(projections[r] + query)) for each row r."""
    out = np.empty(len(rows), dtype=np.float32)
    if len(rows) and len(queries):
        with _LOCK:
            _exact(np.asarray(projections), _f32(queries), _f32(weights), np.float32(bias), _rows(rows), out)
    return out


def screen_bounds(
    codes: np.ndarray,
    scales: np.ndarray,
    queries: np.ndarray,
    weights: np.ndarray,
    bias: float,
    row_margin: np.ndarray,
    query_margin: np.ndarray,
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of each row's exact mean probability from int8 codes (projection ~ codes * scales).

    `row_margin[r] * query_margin[q]` is exp(the largest logit error) of row r against query item q.
    """
    scales = scales.astype(np.float64)
    floors = -queries.astype(np.float64) / scales
    offsets = -(floors @ (weights.astype(np.float64) * scales))
    low = np.empty(len(rows), dtype=np.float64)
    high = np.empty(len(rows), dtype=np.float64)
    if len(rows) and len(queries):
        with _LOCK:
            _screen(np.asarray(codes), _f32(weights * scales), _f32(floors), offsets.astype(np.float64),
                    np.float64(bias), np.asarray(row_margin, dtype=np.float64),
                    np.asarray(query_margin, dtype=np.float64), _rows(rows), low, high)
    return low, high


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _rows(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows, dtype=np.int64)
