"""The store's id table: every live id finds its row across segments, and nothing else finds one."""

import numpy as np
import pytest

from outfitter.catalog import id_table
from outfitter.catalog.id_table import IdTable

SEGMENTS = [np.array(["a0", "a1", "a2"]), np.array([], dtype=str), np.array(["b0", "b1"]), np.array(["c0"])]


def test_each_id_has_its_row_across_segments_and_maps_back_to_its_segment():
    table = IdTable(SEGMENTS)
    flat = [i for seg in SEGMENTS for i in seg.tolist()]
    assert len(table) == 6
    assert [table.row(i) for i in flat] == list(range(6))
    assert [table.locate(r) for r in range(6)] == [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1), (3, 0)]
    assert [table.id_at(r) for r in range(6)] == flat


def test_unknown_and_deleted_ids_have_no_row():
    table = IdTable(SEGMENTS, deleted={"a1", "b0", "never-stored"})
    assert table.row("a1") is None and table.row("b0") is None and table.row("zz") is None
    assert "a1" not in table and "a2" in table and 3 not in table
    assert table.row("b1") == 4 and len(table) == 4


def test_rows_of_many_ids_agrees_with_one_at_a_time():
    table = IdTable(SEGMENTS, deleted={"a2"})
    asked = ["c0", "a2", "nope", "a0", "b1", "a0", "a"]
    assert table.rows_of(asked).tolist() == [5, -1, -1, 0, 4, 0, -1]
    assert table.rows_of([]).tolist() == []


def test_extend_adds_a_segment_after_the_last_row():
    table = IdTable(SEGMENTS[:1])
    table.extend(np.array(["x1", "x0"]))
    assert table.row("x0") == 4 and table.locate(4) == (1, 1) and table.row("a2") == 2


def test_ids_sharing_a_hash_are_told_apart_by_the_id_itself(monkeypatch):
    monkeypatch.setattr(id_table, "hash_id", lambda item_id: len(item_id))  # "a0" and "b1" collide, and more
    table = IdTable(SEGMENTS, deleted={"b0"})
    assert [table.row(i) for i in ["a0", "a1", "a2", "b1", "c0"]] == [0, 1, 2, 4, 5]
    assert table.row("b0") is None and table.row("zz") is None
    assert table.rows_of(["c0", "zz", "a1", "b0", "b1"]).tolist() == [5, -1, 1, -1, 4]


@pytest.mark.parametrize("stored, asked", [("abcd", "abc"), ("abc", "abcd")])
def test_an_id_never_matches_a_longer_or_shorter_one_with_the_same_hash(monkeypatch, stored, asked):
    monkeypatch.setattr(id_table, "hash_id", lambda item_id: 7)
    table = IdTable([np.array([stored])])
    assert table.row(asked) is None and table.rows_of([asked]).tolist() == [-1]
