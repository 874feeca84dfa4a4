"""Polyvore Outfits (Vasileva et al., ECCV 2018): items, outfits, and the compatibility and FITB tasks.

Layout under root: ``images/{item_id}.jpg``, ``polyvore_item_metadata.json``, ``categories.csv`` and, per
version (``nondisjoint``, ``disjoint``), ``{split}.json``, ``compatibility_{split}.txt`` and
``fill_in_blank_{split}.json``. The task files name items as ``setid_index`` tokens, resolved here to
item ids through the split's outfits. Each file is parsed once and cached, so the full dataset (250k
items) loads in seconds. Bad input raises InputError naming the file and its line or JSON field.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter.datasets.folder import OnMissing, report_missing
from outfitter.errors import InputError
from outfitter.types import Item, Outfit

VERSIONS = ("nondisjoint", "disjoint")
SPLITS = ("train", "valid", "test")
N_ANSWERS = 4


@dataclass(frozen=True)
class FITBQuestion:
    """A fill-in-the-blank question: the outfit's other items, 4 candidate ids, and which one is right."""

    question: list[str]
    answers: list[str]
    correct: int
    blank_position: int


def check_choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    """Return value if it is one of allowed, else raise InputError listing the choices."""
    if value not in allowed:
        raise InputError(f"unknown {name} {value!r}; expected one of: {', '.join(allowed)}", field=name)
    return value


def load_json(path: Path) -> Any:
    """Parse a JSON file, turning a missing file or a syntax error into InputError with the line."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as error:
        raise InputError("file not found", path=path) from error
    except json.JSONDecodeError as error:
        raise InputError(f"malformed JSON: {error.msg} (column {error.colno})", path=path, line=error.lineno) from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read file: {error}", path=path) from error


def get_field(record: Any, key: str, kinds: type | tuple[type, ...], path: Path, where: str) -> Any:
    """record[key] checked to be of the given JSON type(s); errors name the field, e.g. '[3].items'."""
    if not isinstance(record, dict):
        raise InputError(f"expected an object, got {type(record).__name__}", path=path, field=where)
    if key not in record:
        raise InputError(f"missing key {key!r}", path=path, field=f"{where}.{key}")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InputError(f"unexpected type {type(value).__name__}", path=path, field=f"{where}.{key}")
    return value


def get_list(data: Any, path: Path, where: str = "") -> list[Any]:
    """data checked to be a JSON list."""
    if not isinstance(data, list):
        raise InputError(f"expected a list, got {type(data).__name__}", path=path, field=where or None)
    return data


def token_set_id(token: str) -> str:
    """The set_id part of a 'setid_index' token."""
    return token.rpartition("_")[0]


def resolve_token(token: Any, resolve: Mapping[str, str], path: Path, **where: Any) -> str:
    """The item id a 'setid_index' token names; InputError (with line or field) if no outfit has it."""
    if isinstance(token, str) and token in resolve:
        return resolve[token]
    raise InputError(f"unknown item {token!r}: no outfit with that set_id and index in this split", path=path, **where)


def read_compatibility(path: Path, resolve: Mapping[str, str]) -> list[tuple[int, list[str]]]:
    """(label, item ids) per line of a `label setid_index ...` file; blank lines are skipped."""
    questions = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if line.strip():
                    questions.append(_compatibility_line(line.split(), resolve, path, line_number))
    except FileNotFoundError as error:
        raise InputError("file not found", path=path) from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read file: {error}", path=path) from error
    return questions


def _compatibility_line(tokens: list[str], resolve: Mapping[str, str], path: Path, line: int) -> tuple[int, list[str]]:
    """One compatibility line parsed: a 0/1 label then at least one resolvable item."""
    if tokens[0] not in ("0", "1"):
        raise InputError(f"label must be 0 or 1, got {tokens[0]!r}", path=path, line=line)
    if len(tokens) < 2:
        raise InputError("no items after the label", path=path, line=line)
    return int(tokens[0]), [resolve_token(token, resolve, path, line=line) for token in tokens[1:]]


def read_fitb(path: Path, resolve: Mapping[str, str], *, first_is_correct: bool = False) -> list[FITBQuestion]:
    """FITB questions from JSON; the right answer is the first, or else the one from the question's outfit."""
    questions = []
    for number, record in enumerate(get_list(load_json(path), path)):
        where = f"[{number}]"
        answer_key = "answer" if isinstance(record, dict) and "answer" in record else "answers"
        answers = _fitb_tokens(record, answer_key, resolve, path, where)
        if len(answers) != N_ANSWERS:
            message = f"expected {N_ANSWERS} answers, got {len(answers)}"
            raise InputError(message, path=path, field=f"{where}.{answer_key}")
        question = _fitb_tokens(record, "question", resolve, path, where)
        correct = 0 if first_is_correct else _correct_answer(record, answer_key, path, where)
        blank = get_field(record, "blank_position", int, path, where)
        questions.append(FITBQuestion([resolve[t] for t in question], [resolve[t] for t in answers], correct, blank))
    return questions


def _fitb_tokens(record: Any, key: str, resolve: Mapping[str, str], path: Path, where: str) -> list[str]:
    """The tokens under record[key], each checked to name a known item."""
    tokens = get_field(record, key, list, path, where)
    for index, token in enumerate(tokens):
        resolve_token(token, resolve, path, field=f"{where}.{key}[{index}]")
    return tokens


def _correct_answer(record: dict[str, Any], answer_key: str, path: Path, where: str) -> int:
    """Index of the single answer whose set_id is the question's (the question items share one set_id)."""
    question_sets = {token_set_id(token) for token in record["question"]}
    if len(question_sets) != 1:
        raise InputError("question items must come from exactly one outfit", path=path, field=f"{where}.question")
    matches = [i for i, token in enumerate(record[answer_key]) if token_set_id(token) in question_sets]
    if len(matches) != 1:
        message = f"expected exactly one answer from the question's outfit, found {len(matches)}"
        raise InputError(message, path=path, field=f"{where}.{answer_key}")
    return matches[0]


class PolyvoreOutfits:
    """Reader for one version (nondisjoint or disjoint) of a Polyvore Outfits folder."""

    def __init__(self, root: str | Path, version: str = "nondisjoint", *, on_missing: OnMissing | None = None) -> None:
        self.root = Path(root).absolute()
        self.version = check_choice(version, VERSIONS, "version")
        self.on_missing = on_missing
        if not self.root.is_dir():
            raise InputError("Polyvore Outfits folder does not exist", path=self.root)
        self._items: list[Item] | None = None
        self._metadata_ids: set[str] = set()
        self._categories: dict[str, tuple[str, str]] | None = None
        self._outfits: dict[str, list[Outfit]] = {}
        self._tokens: dict[str, dict[str, str]] = {}

    def categories(self) -> dict[str, tuple[str, str]]:
        """category_id -> (fine-grained name, semantic category) from categories.csv ({} if absent)."""
        if self._categories is None:
            self._categories = _read_categories(self.root / "categories.csv")
        return self._categories

    def items(self, split: str | None = None) -> list[Item]:
        """All items with an image on disk, in metadata order; with split, only those in its outfits."""
        if self._items is None:
            self._items = self._read_items()
        if split is None:
            return list(self._items)
        wanted = self._split_item_ids(split)
        return [item for item in self._items if item.item_id in wanted]

    def outfits(self, split: str) -> list[Outfit]:
        """The split's outfits, each with its item ids in index order."""
        self._load_split(split)
        return list(self._outfits[split])

    def compatibility(self, split: str) -> list[tuple[int, list[str]]]:
        """(label, item ids) for each outfit of compatibility_{split}.txt; label 1 = a real outfit."""
        path = self.root / self.version / f"compatibility_{split}.txt"
        return read_compatibility(path, self._tokens_of(split))

    def fitb(self, split: str) -> list[FITBQuestion]:
        """The fill-in-the-blank questions of fill_in_blank_{split}.json, with item ids resolved."""
        path = self.root / self.version / f"fill_in_blank_{split}.json"
        return read_fitb(path, self._tokens_of(split))

    def _tokens_of(self, split: str) -> dict[str, str]:
        """'setid_index' -> item_id for the split's outfits."""
        self._load_split(split)
        return self._tokens[split]

    def _load_split(self, split: str) -> None:
        """Parse {version}/{split}.json once into outfits and the token map."""
        check_choice(split, SPLITS, "split")
        if split in self._outfits:
            return
        path = self.root / self.version / f"{split}.json"
        outfits, tokens = [], {}
        for number, record in enumerate(get_list(load_json(path), path)):
            outfit, outfit_tokens = _parse_outfit(record, path, f"[{number}]")
            outfits.append(outfit)
            tokens.update(outfit_tokens)
        self._outfits[split], self._tokens[split] = outfits, tokens

    def _split_item_ids(self, split: str) -> set[str]:
        """Ids of the items in the split's outfits, each checked to be in the metadata."""
        known = self._metadata_ids
        wanted = {item_id for outfit in self.outfits(split) for item_id in outfit.item_ids}
        unknown = sorted(wanted - known)
        if unknown:
            path = self.root / self.version / f"{split}.json"
            message = f"{len(unknown)} item ids not in polyvore_item_metadata.json, e.g. {unknown[0]!r}"
            raise InputError(message, path=path)
        return wanted

    def _read_items(self) -> list[Item]:
        """Items from the metadata file, skipping (and reporting) those without an image."""
        path = self.root / "polyvore_item_metadata.json"
        metadata = load_json(path)
        if not isinstance(metadata, dict):
            raise InputError("expected an object mapping item ids to metadata", path=path)
        self._metadata_ids = set(metadata)
        images = self.root / "images"
        on_disk = {entry.name for entry in os.scandir(images)} if images.is_dir() else set()
        categories = self.categories()
        items, missing = [], []
        for item_id, record in metadata.items():
            if f"{item_id}.jpg" in on_disk:
                items.append(_metadata_item(item_id, record, str(images), categories, path))
            else:
                missing.append(f"{images / (item_id + '.jpg')}: image not found, item {item_id} skipped")
        report_missing(missing, self.on_missing)
        return items


def _parse_outfit(record: Any, path: Path, where: str) -> tuple[Outfit, dict[str, str]]:
    """One outfit record: the Outfit (items in index order) and its 'setid_index' -> item_id map."""
    set_id = str(get_field(record, "set_id", (str, int), path, where))
    indexed = []
    for number, entry in enumerate(get_field(record, "items", list, path, where)):
        item_where = f"{where}.items[{number}]"
        item_id = str(get_field(entry, "item_id", (str, int), path, item_where))
        indexed.append((get_field(entry, "index", int, path, item_where), item_id))
    indexed.sort()
    tokens = {f"{set_id}_{index}": item_id for index, item_id in indexed}
    if len(tokens) != len(indexed):
        raise InputError(f"outfit {set_id} repeats an item index", path=path, field=f"{where}.items")
    return Outfit(set_id=set_id, item_ids=tuple(item_id for _, item_id in indexed)), tokens


def _metadata_item(item_id: str, record: Any, images: str, categories: dict[str, tuple[str, str]], path: Path) -> Item:
    """The Item for one metadata record; attributes carry category_id, title and the fine category name."""
    where = f"[{json.dumps(item_id)}]"
    category = get_field(record, "semantic_category", str, path, where)
    category_id = str(record.get("category_id", ""))
    attributes = {"category_id": category_id, "title": str(record.get("title", ""))}
    if category_id in categories:
        attributes["fine_category"] = categories[category_id][0]
    return Item(item_id=item_id, path=os.path.join(images, f"{item_id}.jpg"), category=category, attributes=attributes)


def _read_categories(path: Path) -> dict[str, tuple[str, str]]:
    """categories.csv (no header: id, fine-grained name, semantic category) as a dict; {} if absent."""
    if not path.is_file():
        return {}
    categories = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if not row:
                    continue
                if len(row) != 3:
                    message = f"expected 3 fields (id, name, semantic category), got {len(row)}"
                    raise InputError(message, path=path, line=reader.line_num)
                categories[row[0].strip()] = (row[1].strip(), row[2].strip())
        except (UnicodeDecodeError, csv.Error) as error:
            raise InputError(f"not UTF-8 CSV text ({error})", path=path, line=reader.line_num + 1) from error
    return categories
