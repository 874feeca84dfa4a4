"""The command line through typer's CliRunner: index, similar (table and JSON), errors as one line + exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from outfitter.cli import app
from outfitter.datasets import write_synthetic_polyvore

runner = CliRunner()


@pytest.fixture
def indexed(photo_folder, tmp_path):
    store = tmp_path / "store"
    result = runner.invoke(app, ["index", str(photo_folder), "--store", str(store), "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "indexed 12 new items" in result.output
    return store


def test_similar_by_item_as_json_lines(indexed):
    result = runner.invoke(app, ["similar", "--store", str(indexed), "--item", "shoes/shoes0", "--item", "tops/tops1",
                                 "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["shoes/shoes0", "tops/tops1"]
    first = lines[0]["hits"]
    assert len(first) == 3 and "shoes/shoes0" not in [h["id"] for h in first]
    assert set(first[0]) == {"id", "score", "match", "category", "path", "attributes"}


def test_similar_scores_are_plain_cosines_whatever_the_expansion(indexed):
    def hits(*extra: str) -> list[dict]:
        result = runner.invoke(app, ["similar", "--store", str(indexed), "--item", "tops/tops1", "--json", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["hits"]

    plain = hits("--expansion", "0", "--k", "11")
    assert [h["score"] for h in plain] == sorted((h["score"] for h in plain), reverse=True)
    cosine = {h["id"]: h["score"] for h in plain}
    expanded = hits("--k", "5")
    assert len(expanded) == 5 and all(h["score"] == pytest.approx(cosine[h["id"]], abs=1e-6) for h in expanded)
    result = runner.invoke(app, ["similar", "--store", str(indexed), "--item", "tops/tops1", "--expansion", "-1"])
    assert result.exit_code == 2


def test_similar_by_image_in_a_category_as_a_table(indexed, photo_folder):
    result = runner.invoke(app, ["similar", "--store", str(indexed), "--image", str(photo_folder / "tops" / "tops0.jpg"),
                                 "--category", "bottoms", "--k", "2"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(rows) == 2 and all("bottoms/bottoms" in row for row in rows)


def test_indexing_again_embeds_nothing(indexed, photo_folder):
    result = runner.invoke(app, ["index", str(photo_folder), "--store", str(indexed), "--workers", "0"])
    assert "indexed 0 new items" in result.output and "12 already there" in result.output


@pytest.mark.parametrize("args, message", [
    (["similar", "--store", "{missing}", "--item", "x"], "no catalogue store"),
    (["similar", "--store", "{store}", "--item", "nope"], "unknown item id 'nope'"),
    (["similar", "--store", "{store}"], "give at least one --image"),
    (["similar", "--store", "{store}", "--image", "{folder}/../nothing.jpg"], "file not found"),
    (["index", "{folder}", "--store", "{store}", "--backbone", "resnet50"], "refusing to add resnet50"),
    (["index", "--store", "{store}"], "give either SOURCE"),
])
def test_bad_input_is_one_line_and_exit_2(indexed, photo_folder, tmp_path, args, message):
    args = [a.format(store=indexed, missing=tmp_path / "none", folder=photo_folder) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.strip().count("\n") == 0


def test_index_polyvore_items_with_their_categories(tmp_path):
    root = write_synthetic_polyvore(tmp_path / "polyvore_outfits", n_outfits=(4, 2, 2))
    result = runner.invoke(app, ["index", "--polyvore", str(root), "--store", str(tmp_path / "pv"), "--workers", "0"])
    assert result.exit_code == 0, result.output
    out = runner.invoke(app, ["similar", "--store", str(tmp_path / "pv"), "--item",
                              _first_item(tmp_path / "pv"), "--json", "--k", "2"])
    assert {h["category"] for h in json.loads(out.stdout)["hits"]} <= {"tops", "bottoms", "shoes", "bags", "hats"}


def _first_item(store) -> str:
    from outfitter.catalog import CatalogStore
    return CatalogStore.open(store).ids()[0]


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("index", "similar", "demo", "backbones"):
        assert command in result.output


def test_train_evaluate_complete_and_score_from_the_command_line(tmp_path):
    root = write_synthetic_polyvore(tmp_path / "polyvore_outfits", n_outfits=(30, 10, 10))
    model, cache = tmp_path / "mlp.pt", str(tmp_path / "cache")
    trained = runner.invoke(app, ["train", "--polyvore", str(root), "--out", str(model), "--epochs", "2",
                                  "--image-size", "64", "--cache", cache, "--workers", "0"])
    assert trained.exit_code == 0, trained.output
    assert model.is_file() and model.with_suffix(".png").exists() or list(tmp_path.glob("mlp*.png"))
    evaluated = runner.invoke(app, ["evaluate", "--polyvore", str(root), "--model", str(model), "--json",
                                    "--cache", cache, "--workers", "0"])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert set(metrics) == {"auc", "fitb_accuracy", "recall@10", "recall@30", "recall@50"}
    assert 0 <= metrics["auc"] <= 1
    store = tmp_path / "pv"
    assert runner.invoke(app, ["index", "--polyvore", str(root), "--store", str(store), "--workers", "0"]).exit_code == 0
    first = _first_item(store)
    completed = runner.invoke(app, ["complete", "--store", str(store), "--model", str(model), "--item", first,
                                    "--k", "2", "--json", "--sheet", str(tmp_path / "sheet.png")])
    assert completed.exit_code == 0, completed.output
    found = json.loads(completed.stdout.splitlines()[0])["categories"]
    assert found and all(len(hits) == 2 for hits in found.values())
    assert (tmp_path / "sheet.png").is_file()
    second = json.loads(runner.invoke(app, ["similar", "--store", str(store), "--item", first, "--json"]).stdout)
    pair = [first, second["hits"][0]["id"]]
    scored = runner.invoke(app, ["score-outfit", "--store", str(store), "--model", str(model), "--item", pair[0],
                                 "--item", pair[1], "--json"])
    assert scored.exit_code == 0, scored.output
    assert 0 <= json.loads(scored.stdout)["score"] <= 1


def test_complete_score_and_evaluate_use_the_shipped_model_without_model(tmp_path):
    root = write_synthetic_polyvore(tmp_path / "polyvore_outfits", n_outfits=(10, 4, 6))
    store = tmp_path / "pv"
    assert runner.invoke(app, ["index", "--polyvore", str(root), "--store", str(store), "--workers", "0"]).exit_code == 0
    first = _first_item(store)
    completed = runner.invoke(app, ["complete", "--store", str(store), "--item", first, "--k", "2", "--json"])
    assert completed.exit_code == 0, completed.output
    answer = json.loads(completed.stdout.splitlines()[0])
    assert answer["query_slots"] and answer["query_slots"][0] not in answer["categories"]
    evaluated = runner.invoke(app, ["evaluate", "--polyvore", str(root), "--json", "--workers", "0",
                                    "--cache", str(tmp_path / "cache"), "--roc", str(tmp_path / "roc.png")])
    assert evaluated.exit_code == 0, evaluated.output
    assert set(json.loads(evaluated.stdout.strip().splitlines()[-1])) >= {"auc", "fitb_accuracy"}


def test_two_items_of_one_slot_clash_on_the_command_line(tmp_path):
    root = write_synthetic_polyvore(tmp_path / "polyvore_outfits", n_outfits=(10, 4, 6))
    store = tmp_path / "pv"
    assert runner.invoke(app, ["index", "--polyvore", str(root), "--store", str(store), "--workers", "0"]).exit_code == 0
    from outfitter import CatalogStore

    opened = CatalogStore.open(store)
    first = _first_item(store)
    same = [i for i in opened.ids() if opened.get(i).category == opened.get(first).category and i != first][0]
    scored = runner.invoke(app, ["score-outfit", "--store", str(store), "--item", first, "--item", same])
    assert scored.exit_code == 0, scored.output
    assert "clashes" in scored.stdout and "cannot be worn together" in scored.stdout


def test_unknown_category_is_refused_in_one_line(tmp_path):
    root = write_synthetic_polyvore(tmp_path / "polyvore_outfits", n_outfits=(6, 2, 2))
    store = tmp_path / "pv"
    assert runner.invoke(app, ["index", "--polyvore", str(root), "--store", str(store), "--workers", "0"]).exit_code == 0
    result = runner.invoke(app, ["complete", "--store", str(store), "--item", _first_item(store), "--category", "Shoez"])
    assert result.exit_code == 2 and "unknown category 'Shoez'" in result.stderr


def test_serve_refuses_a_missing_store_in_one_line(tmp_path):
    result = runner.invoke(app, ["serve", "--store", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no catalogue store" in result.stderr


def test_large_stores_get_their_ann_index_when_indexed(photo_folder, tmp_path):
    from outfitter import Catalog
    from outfitter.datasets import read_folder
    from outfitter.pipeline.indexing import index_items
    from outfitter.search import FaissIndex

    index_items(read_folder(photo_folder), tmp_path / "big", workers=0, progress=False, ann_threshold=5)
    catalog = Catalog.open(tmp_path / "big")
    assert (tmp_path / "big" / "index").is_dir()
    assert FaissIndex.load(catalog.store) is not None
    assert catalog.similar("shoes/shoes0", k=3)[0].item_id != "shoes/shoes0"


def test_similar_with_an_unknown_category_is_an_error_not_an_empty_answer(photo_folder, tmp_path):
    store = tmp_path / "store"
    assert runner.invoke(app, ["index", str(photo_folder), "--store", str(store), "--workers", "0"]).exit_code == 0
    first = _first_item(store)
    result = runner.invoke(app, ["similar", "--store", str(store), "--item", first, "--category", "nope"])
    assert result.exit_code == 2 and "unknown category 'nope'; the catalogue has:" in result.stderr


def test_a_full_disk_is_one_line_and_leaves_the_store_as_it_was(photo_folder, tmp_path):
    """`index` in a subprocess whose files may not grow past 4 KB (as on a full disk): exit 2, one line, nothing lost."""
    import subprocess
    import sys

    from outfitter import CatalogStore

    store = tmp_path / "store"
    photos = sorted(p for p in photo_folder.rglob("*.jpg"))
    first = tmp_path / "first"
    for photo in photos[:2]:
        (first / photo.parent.name).mkdir(parents=True, exist_ok=True)
        (first / photo.parent.name / photo.name).write_bytes(photo.read_bytes())
    assert runner.invoke(app, ["index", str(first), "--store", str(store), "--workers", "0"]).exit_code == 0
    script = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); from outfitter.cli import app; "
              "sys.argv = ['outfitter'] + sys.argv[1:]; app()")
    done = subprocess.run([sys.executable, "-c", script, "index", str(photo_folder), "--store", str(store),
                           "--workers", "0", "--runtime", "torch"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "vectors.npy: the disk is full (short write" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    opened = CatalogStore.open(store)
    assert len(opened) == 2 and opened.verify() == [] and opened.orphans() == []


def test_the_command_line_starts_without_loading_heavy_libraries():
    import subprocess
    import sys

    script = ("import sys, outfitter, outfitter.cli; from outfitter import InputError; "
              "print(sorted(m for m in ('torch', 'faiss', 'numba', 'matplotlib', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_public_names_import_on_first_use():
    import outfitter

    assert outfitter.Catalog.__name__ == "Catalog" and "Catalog" in dir(outfitter)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        outfitter.Nope  # noqa: B018


def test_serve_on_a_busy_port_says_so_before_loading_anything(tmp_path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = runner.invoke(app, ["serve", "--store", str(tmp_path / "none"), "--port", str(port)])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_similar_draws_a_contact_sheet(photo_folder, tmp_path):
    store = tmp_path / "store"
    assert runner.invoke(app, ["index", str(photo_folder), "--store", str(store), "--workers", "0"]).exit_code == 0
    photo = next(photo_folder.rglob("*.jpg"))
    result = runner.invoke(app, ["similar", "--store", str(store), "--image", str(photo), "--item", _first_item(store),
                                 "--k", "3", "--sheet", str(tmp_path / "sheet.png")])
    assert result.exit_code == 0 and "contact sheet written" in result.stdout
    from PIL import Image

    assert Image.open(tmp_path / "sheet.png").format == "PNG"


def test_delete_removes_items_by_id_and_from_a_file_then_compacts(indexed, tmp_path):
    ids_file = tmp_path / "gone.txt"
    ids_file.write_text("tops/tops1\n\nshoes/shoes0\nno/such\n")
    result = runner.invoke(app, ["delete", "--store", str(indexed), "--item", "tops/tops0", "--ids-file",
                                 str(ids_file), "--compact"])
    assert result.exit_code == 0, result.output
    assert "deleted 3 item(s), 9 left, compacted" in result.stdout and "'no/such'" in result.stderr
    from outfitter.catalog import CatalogStore

    store = CatalogStore.open(indexed)
    assert len(store.segments) == 1 and "tops/tops0" not in store and "tops/tops2" in store


def test_delete_names_a_bad_ids_file_and_line(indexed, tmp_path):
    ids_file = tmp_path / "gone.txt"
    ids_file.write_bytes(b"tops/tops1\nsh\xffoes\n")
    result = runner.invoke(app, ["delete", "--store", str(indexed), "--ids-file", str(ids_file)])
    assert result.exit_code == 2 and "gone.txt:2: not UTF-8" in result.stderr
    from outfitter.catalog import CatalogStore

    assert "tops/tops1" in CatalogStore.open(indexed)  # nothing deleted


def test_hits_show_the_products_name_price_and_match_from_the_csv(photo_folder, tmp_path):
    rows = ["path,id,category,name,price"] + [
        f"{p},{p.stem},{p.parent.name},{p.parent.name.title()} no. {n},{10 + n}.90"
        for n, p in enumerate(sorted(photo_folder.rglob("*.jpg")))]
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n")
    store = tmp_path / "store"
    assert runner.invoke(app, ["index", str(tmp_path / "shop.csv"), "--store", str(store), "--workers", "0"]).exit_code == 0
    table = runner.invoke(app, ["similar", "--store", str(store), "--item", "tops0", "--k", "3"])
    assert table.exit_code == 0 and all(col in table.stdout for col in ("name", "price", "match"))
    assert "Tops no. " in table.stdout and ".90" in table.stdout
    hit = json.loads(runner.invoke(app, ["similar", "--store", str(store), "--item", "tops0", "--json"]).stdout)["hits"][0]
    assert hit["attributes"]["name"].endswith(tuple("0123456789")) and hit["attributes"]["price"].endswith(".90")
    assert hit["match"] in ("very similar", "similar", "loosely related")


def test_index_reports_each_bad_photo_once_counts_rows_without_photos_and_warns_without_categories(tmp_path):
    from tests.drawing import draw_item

    draw_item("tops", (200, 30, 30), seed=1).save(tmp_path / "good.jpg")
    (tmp_path / "broken.jpg").write_text("not a photo")
    (tmp_path / "shop.csv").write_text("path,name\ngood.jpg,Red top\nbroken.jpg,Broken\ngone.jpg,Gone\n")
    result = runner.invoke(app, ["index", str(tmp_path / "shop.csv"), "--store", str(tmp_path / "store"),
                                 "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "indexed 1 new items" in result.stdout and "2 skipped: 1 without their photo" in result.stdout
    assert result.stderr.count("broken.jpg") == 1 and result.stderr.count("gone.jpg") == 1
    assert "no categories" in result.stderr
    similar = runner.invoke(app, ["similar", "--store", str(tmp_path / "store"), "--item", "good", "--json"])
    assert similar.exit_code == 0 and json.loads(similar.stdout)["hits"] == []  # one item: nothing else to show


def test_tune_compares_with_the_backbone_in_use_today(photo_folder, tmp_path):
    result = runner.invoke(app, ["tune", str(photo_folder), "--out", str(tmp_path / "t.pt"), "--epochs", "2",
                                 "--dim", "8", "--holdout", "0.5", "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "efficientnet_lite0_fashion (today)" in result.stdout and "-> tuned" in result.stdout
    from outfitter.backbones.tuned import read_tuned

    meta = read_tuned(tmp_path / "t.pt")["meta"]
    helped = meta["after"][10] > meta["current"]["precision"][10]
    assert ("index with it" in result.stdout) == helped and ("did not beat" in result.stderr) == (not helped)


def test_an_unknown_runner_is_named_before_any_work(photo_folder, tmp_path):
    result = runner.invoke(app, ["index", str(photo_folder), "--store", str(tmp_path / "s"), "--runner", "spark"])
    assert result.exit_code == 2 and "unknown runner 'spark'" in result.stderr and "local, ray" in result.stderr
    assert not (tmp_path / "s").exists()
