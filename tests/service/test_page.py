"""The web page in headless Chromium: upload a photo, click a result, rows per outfit slot, build an outfit and see
its verdict and clashes, bad uploads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outfitter.service import create_app, running
from tests.service.conftest import API_KEY

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--headless", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Chromium driven by Python playwright, or a skip saying what is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="no Python playwright (pip install playwright)")
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(store, model) -> Iterator[str]:
    with running(create_app(store, model=model)) as url:
        yield url


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(site)
    page.locator("#catalogue .card").nth(11).wait_for()
    yield page
    context.close()


def test_the_catalogue_is_browsable(page):
    assert page.locator("#catalogue .card").count() == 12
    assert "12 items in 3 categories" in page.inner_text("#status")
    page.select_option("#browse-category", "shoes")
    page.wait_for_function("document.querySelectorAll('#catalogue .card').length === 4")


def test_upload_a_photo_then_search_from_a_result(page, photos):
    page.set_input_files("#file", str(photos["tops/tops1"]))
    first = page.locator("#similar .card").first
    first.wait_for()
    assert first.get_attribute("data-id") == "tops/tops1" and first.locator(".sc").inner_text() == "1.000"
    page.locator("#complements .row").nth(1).wait_for()
    assert page.locator("#complements h3").all_text_contents() == ["Bottoms", "Shoes"]
    assert page.inner_text("#query-slot") == "looks like: tops"
    page.locator("#complements .row .card .pick").first.click()
    page.wait_for_function("document.querySelector('#query-caption').textContent.startsWith('catalogue item')")
    assert page.locator("#similar .card").count() == 11
    assert page.locator("#message").is_hidden() and page.locator("#query-slot").is_hidden()


def test_pick_items_into_an_outfit_and_see_its_verdict(page):
    page.locator("#catalogue .card .add").nth(0).click()  # tops/tops0
    assert page.locator("#outfit-score").is_hidden()
    page.locator("#catalogue .card .add").nth(5).click()  # bottoms/bottoms1
    page.locator("#outfit-score").wait_for()
    assert page.locator("#outfit-items li").count() == 2
    assert page.inner_text("#outfit-verdict") in ("Goes well", "So-so", "Clashes")
    verdict_colour = page.eval_on_selector("#outfit-verdict", "node => getComputedStyle(node).color")
    assert verdict_colour in ("rgb(30, 122, 60)", "rgb(154, 91, 0)", "rgb(179, 38, 30)")
    assert page.inner_text("#outfit-value").endswith("%") and page.locator("#outfit-clashes").is_hidden()

    page.locator("#catalogue .card .add").nth(1).click()  # tops/tops1: a second top
    page.wait_for_function("document.querySelector('#outfit-verdict').textContent === 'Clashes'"
                           " && !document.querySelector('#outfit-score').hidden")
    assert page.eval_on_selector("#outfit-verdict", "node => getComputedStyle(node).color") == "rgb(179, 38, 30)"
    assert page.locator("#outfit-clashes li").all_text_contents() == [
        "two items of one kind (tops): tops/tops0 and tops/tops1"]
    page.locator("#outfit-items .remove").first.click()
    page.wait_for_function("!document.querySelector('#outfit-score').hidden")
    assert page.inner_text("#outfit-verdict") != "" and page.locator("#outfit-clashes").is_hidden()
    page.locator("#outfit-items .remove").first.click()
    assert page.locator("#outfit-items li").count() == 1 and page.locator("#outfit-score").is_hidden()


def test_a_shops_rows_are_its_slots_and_cards_name_their_category(browser, shop_store, model):
    with running(create_app(shop_store, model=model)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.locator('#catalogue .card[data-id="dress/dress0"] .pick').click()
        page.locator("#complements .row").nth(1).wait_for()
        assert page.locator("#complements h3").all_text_contents() == ["Shoes", "Bags"]
        assert set(page.locator('#complements .row[data-row="bags"] .cat').all_text_contents()) == {"bag"}
        page.locator('#catalogue .card[data-id="pants/pants0"] .add').click()
        page.locator('#catalogue .card[data-id="jeans/jeans1"] .add').click()
        page.wait_for_function("document.querySelector('#outfit-verdict').textContent === 'Clashes'")
        assert page.locator("#outfit-clashes li").all_text_contents() == [
            "two items of one kind (bottoms): pants/pants0 and jeans/jeans1"]
        page.locator("#outfit-items .remove").first.click()
        page.locator('#catalogue .card[data-id="dress/dress1"] .add').click()
        page.wait_for_function("document.querySelector('#outfit-clashes li')?.textContent === 'not worn together"
                               " (bottoms and dresses & jumpsuits): jeans/jeans1 and dress/dress1'")
        context.close()


def test_a_bad_upload_shows_a_message(page, tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is not a photo")
    page.set_input_files("#file", str(bad))
    page.locator("#message").wait_for()
    assert "holiday.jpg: not an image (text)" in page.inner_text("#message")


def test_the_page_takes_the_key_from_its_address(browser, store, model):
    with running(create_app(store, model=model, api_key=API_KEY)) as url:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/?key={API_KEY}")
        page.locator("#catalogue .card").nth(11).wait_for()
        assert "key=" not in page.url
        page.wait_for_function("document.querySelector('#catalogue img').naturalWidth > 0")  # photos pass the key too
        context.close()
