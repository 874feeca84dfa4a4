"""The web page in headless Chromium: upload a photo, click a result, rows per outfit slot, build an outfit and see
its verdict and clashes, bad uploads; busy while searching, filters that search again, results first on a phone, the
same photo twice, the upload limit in the README's MB, product names, prices, links and match labels on cards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outfitter.compat.slots import slot_for_name
from outfitter.service import create_app, running
from tests.service.conftest import API_KEY

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--headless", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 20_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


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


def open_page(browser, url: str, viewport: dict = DESKTOP):
    """A fresh context's page at `url` (close its .context when done)."""
    page = browser.new_context(viewport=viewport).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return page


def loaded_page(browser, url: str) -> Iterator:
    """A fresh page at `url` once its catalogue has shown, closed after use."""
    page = open_page(browser, url)
    page.locator("#catalogue .card").nth(11).wait_for()
    yield page
    page.context.close()


@pytest.fixture
def page(browser, site):
    yield from loaded_page(browser, site)


def similar_posts(page, path: str = "/similar?") -> list[str]:
    """The URLs of the page's POST requests to `path` (/similar by default), filled in as they are sent."""
    sent = []
    page.on("request", lambda request: request.method == "POST" and path in request.url
            and sent.append(request.url))
    return sent


def texts(page, selector: str) -> list[str]:
    return page.locator(selector).all_text_contents()


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
    page.wait_for_selector("#results[aria-busy=false]")  # the caption shows at once; the results when they arrive
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
        page = open_page(browser, url)
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
        page.context.close()


def test_a_bad_upload_shows_a_message(page, tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is not a photo")
    page.set_input_files("#file", str(bad))
    page.locator("#message").wait_for()
    assert "holiday.jpg: not an image (text)" in page.inner_text("#message")


def test_the_page_takes_the_key_from_its_address(browser, store, model):
    with running(create_app(store, model=model, api_key=API_KEY)) as url:
        page = open_page(browser, f"{url}/?key={API_KEY}")
        page.locator("#catalogue .card").nth(11).wait_for()
        assert "key=" not in page.url
        page.wait_for_function("document.querySelector('#catalogue img').naturalWidth > 0")  # photos pass the key too
        page.context.close()


def test_a_chosen_photo_shows_at_once_and_the_page_is_busy_until_the_results_arrive(page, photos):
    held = []
    page.route("**/look?*", lambda route: held.append(route))  # the answer waits until the test lets it through
    page.set_input_files("#file", str(photos["tops/tops1"]))
    while not held:
        page.wait_for_timeout(20)
    page.locator("#query-image").wait_for(state="visible")  # shown while the answer is still held back
    assert page.get_attribute("#query-image", "src").startswith("blob:")
    assert page.locator("#busy[role=status]").is_visible() and page.inner_text("#busy") == "Searching…"
    assert page.get_attribute("#results", "aria-busy") == "true"
    held[0].fallback()
    page.locator("#similar .card").first.wait_for()
    page.locator("#busy").wait_for(state="hidden")
    assert page.get_attribute("#results", "aria-busy") == "false"
    assert page.locator("#complements .row").count() == 2 and page.inner_text("#query-slot") == "looks like: tops"
    assert page.locator("#file").is_enabled() and page.locator("#category").is_enabled()


def test_changing_the_category_searches_the_same_photo_or_item_again(page, photos):
    sent = similar_posts(page)
    page.set_input_files("#file", str(photos["tops/tops1"]))
    page.locator("#similar .card").nth(11).wait_for()
    page.select_option("#category", "shoes")
    page.wait_for_function("[...document.querySelectorAll('#similar .cat')].map((n) => n.textContent).join()"
                           " === 'shoes,shoes,shoes,shoes'")
    assert sent[-1].endswith("category=shoes") and len(sent) == 1  # the photo itself asked /look
    assert page.inner_text("#query-caption") == "your photo: tops1.jpg" and page.locator("#message").is_hidden()
    page.locator('#catalogue .card[data-id="tops/tops0"] .pick').click()  # an item, filtered as chosen
    page.wait_for_function("document.querySelector('#query-caption').textContent.startsWith('catalogue item')")
    page.select_option("#category", "bottoms")
    page.wait_for_function("[...document.querySelectorAll('#similar .cat')].map((n) => n.textContent).join()"
                           " === 'bottoms,bottoms,bottoms,bottoms'")
    page.select_option("#category", "")
    page.locator("#similar .card").nth(10).wait_for()
    assert page.locator("#complements .row").count() == 2 and len(sent) == 4


def test_on_a_phone_the_results_come_right_under_the_photo(browser, site, photos):
    page = open_page(browser, site, PHONE)
    page.set_input_files("#file", str(photos["shoes/shoes2"]))
    page.locator("#similar .card").first.wait_for()
    query, results, outfit = (page.locator(selector).bounding_box() for selector in (".query", "#results", ".outfit"))
    assert query["y"] + query["height"] <= results["y"] < results["y"] + results["height"] <= outfit["y"]
    assert results["width"] <= PHONE["width"]
    page.context.close()


def test_the_same_photo_can_be_chosen_twice_in_a_row(page, photos):
    sent = similar_posts(page, "/look?")
    for times in (1, 2):
        page.set_input_files("#file", str(photos["bottoms/bottoms0"]))
        page.locator("#busy").wait_for(state="hidden")
        page.locator("#similar .card").first.wait_for()
        assert len(sent) == times
    assert page.eval_on_selector("#file", "input => input.value") == ""


def test_a_rejected_upload_shows_the_servers_reason_once_and_nothing_goes_unhandled(page, photos, tmp_path):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and not message.text.startswith(
        "Failed to load resource") and errors.append(message.text))  # a 422 is logged by Chromium itself
    page.evaluate("window.unhandled = []; addEventListener('unhandledrejection', (e) => unhandled.push(`${e.reason}`))")
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is not a photo")
    with page.expect_request_finished(lambda r: "/look" in r.url):
        page.set_input_files("#file", str(bad))
    page.locator("#message").wait_for()
    page.locator("#busy").wait_for(state="hidden")
    page.wait_for_timeout(200)  # the answer read: a rejection left unhandled would have surfaced by now
    message = page.inner_text("#message")
    assert message.startswith("holiday.jpg: not an image (text)")
    assert page.inner_text("body").count(message) == 1
    assert page.evaluate("unhandled") == [] and errors == []
    assert page.locator("#results").is_hidden() and page.locator("#query-image").is_hidden()
    page.set_input_files("#file", str(photos["tops/tops2"]))  # the next good photo clears the message
    page.locator("#similar .card").first.wait_for()
    assert page.locator("#message").is_hidden()


def test_the_upload_limit_is_stated_in_the_readmes_megabytes(page, tmp_path):
    assert page.inner_text("#upload-limit") == "photos up to 10 MB"  # /health's 10 * 1024 * 1024 bytes
    sizes = page.evaluate("""[formatBytes(10 * MB), formatBytes(10.5 * MB), formatBytes(11010047),
                              formatBytes(10 * MB + 1, Math.ceil), formatBytes(64 * 1024), formatBytes(500)]""")
    assert sizes == ["10 MB", "10.5 MB", "10.4 MB", "10.1 MB", "64 KB", "500 bytes"]
    sent = similar_posts(page)
    big = tmp_path / "big.jpg"
    big.write_bytes(bytes(10 * 1024 * 1024 + 1))
    page.set_input_files("#file", str(big))
    page.locator("#message").wait_for()
    assert page.inner_text("#message") == "That photo is 10.1 MB; the limit is 10 MB."
    assert "10.5" not in page.inner_text("body") and sent == []


def test_cards_show_the_products_name_price_link_and_match_when_the_hits_have_them(page):
    image = "item/image?id=tops%2Ftops{}"
    hits = [
        {"id": "tops/tops1", "score": 0.97, "category": "tops", "image_url": image.format(1), "match": "very similar",
         "attributes": {"name": "Linen shirt", "price": "29.90", "url": "https://shop.example/linen?x=1"}},
        {"id": "tops/tops2", "score": 0.61, "category": "tops", "image_url": image.format(2),
         "match": "loosely related", "attributes": {"title": "<b>Bold</b> tee", "url": " JavaScript:alert(1)"}},
        {"id": "tops/tops3", "score": 0.5, "category": "tops", "image_url": image.format(3)},  # an older server
    ]
    page.route("**/similar?*", lambda route: route.fulfill(json={"hits": hits}))
    page.locator('#catalogue .card[data-id="tops/tops0"] .pick').click()
    page.locator("#similar .card").nth(2).wait_for()
    first, second, third = (page.locator("#similar .card").nth(i) for i in range(3))
    link = first.locator("a.name")
    assert link.inner_text() == "Linen shirt" and link.get_attribute("href") == "https://shop.example/linen?x=1"
    assert "noopener" in link.get_attribute("rel").split() and link.get_attribute("target") == "_blank"
    assert first.locator(".price").inner_text() == "29.90"
    assert first.locator(".match").inner_text() == "very similar" and first.locator(".sc").inner_text() == "0.970"
    assert first.locator("img").get_attribute("alt") == "Linen shirt"
    assert second.locator(".name").inner_text() == "<b>Bold</b> tee" and second.locator(".name b").count() == 0
    assert second.locator(".name").get_attribute("href") is None and second.locator(".price").is_hidden()
    assert second.locator(".match").inner_text() == "loosely related"
    assert all(third.locator(part).is_hidden() for part in (".name", ".price", ".match"))
    assert third.locator(".sc").inner_text() == "0.500" and third.locator(".cat").inner_text() == "tops"


# ---- shop the look: a new photo asks /look; a photo of a person shows its garments outlined, a product shot as before

PERSON = Path(__file__).parents[1] / "data" / "street" / "person.jpg"  # 550 x 823: a top, trousers, shoes, a bag


@pytest.fixture(scope="module")
def shop_site(shop_store, model) -> Iterator[str]:
    """The shop's catalogue, which sells every kind of garment in PERSON (tops, bottoms, shoes, bags)."""
    with running(create_app(shop_store, model=model)) as url:
        yield url


@pytest.fixture
def shop_page(browser, shop_site):
    yield from loaded_page(browser, shop_site)


def upload_look(page, path: Path) -> dict:
    """Choose the photo on the page; the /look answer it got."""
    with page.expect_response(lambda response: "/look?" in response.url) as answer:
        page.set_input_files("#file", str(path))
    page.locator("#busy").wait_for(state="hidden")
    return answer.value.json()


def shown_ids(page) -> list[str]:
    return [card.get_attribute("data-id") for card in page.locator("#similar .card").all()]


def pressed(page) -> list[str | None]:
    return [node.get_attribute("aria-pressed") for node in page.locator("#outlines .outline").all()]


def test_a_photo_of_a_person_shows_each_garment_outlined_on_it(shop_page):
    look = upload_look(shop_page, PERSON)
    garments, (width, height) = look["garments"], look["size"]
    outlines = shop_page.locator("#outlines .outline")
    assert look["product_shot"] is False and outlines.count() == len(garments) >= 2
    assert outlines.locator(".tag").all_text_contents() == [
        f"{g['category']} {int(g['confidence'] * 100 + 0.5)}%" for g in garments]
    assert all(node.get_attribute("aria-label").endswith("sure: show similar items") for node in outlines.all())
    photo = shop_page.locator("#look-image").bounding_box()
    for garment, node in zip(garments, outlines.all()):  # the boxes follow the photo's displayed size
        x0, y0, x1, y1 = garment["box"]
        box = node.bounding_box()
        expected = (photo["x"] + x0 * photo["width"] / width, photo["y"] + y0 * photo["height"] / height,
                    (x1 - x0) * photo["width"] / width, (y1 - y0) * photo["height"] / height)
        assert box["x"] == pytest.approx(expected[0], abs=1.5) and box["y"] == pytest.approx(expected[1], abs=1.5)
        assert box["width"] == pytest.approx(expected[2], abs=1.5)
        assert box["height"] == pytest.approx(expected[3], abs=1.5)


def test_picking_an_outline_shows_that_garments_similar_items(shop_page):
    look = upload_look(shop_page, PERSON)
    first, second = look["garments"][:2]
    assert pressed(shop_page)[:2] == ["true", "false"]  # the largest garment first
    assert shown_ids(shop_page) == [hit["id"] for hit in first["similar"]]
    shop_page.locator("#outlines .outline .tag").nth(1).click()  # its label, never hidden by another outline
    assert pressed(shop_page)[:2] == ["false", "true"]
    assert shown_ids(shop_page) == [hit["id"] for hit in second["similar"]] and second["similar"]
    assert {slot_for_name(c) for c in texts(shop_page, "#similar .cat")} == {second["category"]}
    assert shop_page.inner_text("#similar-title").startswith("Similar ")
    colour = shop_page.eval_on_selector("#outlines .outline:nth-child(2)", "node => getComputedStyle(node).borderColor")
    assert colour == "rgb(180, 35, 90)"  # the accent colour marks the picked garment
    shop_page.locator("#outlines .outline").first.focus()  # the keyboard picks too
    shop_page.keyboard.press("Enter")
    assert pressed(shop_page)[:2] == ["true", "false"] and shown_ids(shop_page)[0] == first["similar"][0]["id"]
    assert shop_page.inner_text("#complements-title") == "Completes the look"
    worn = {garment["category"] for garment in look["garments"]}
    assert not worn & {row.get_attribute("data-row") for row in shop_page.locator("#complements .row").all()}
    assert shop_page.locator("#category").is_disabled()  # each garment is searched among its own kind


def test_a_garment_the_shop_does_not_sell_says_so(page):
    look = upload_look(page, PERSON)  # this catalogue sells tops, bottoms and shoes only
    kinds = [garment["category"] for garment in look["garments"]]
    unsold = next(i for i, garment in enumerate(look["garments"]) if not garment["similar"])
    page.locator("#outlines .outline .tag").nth(unsold).click()
    kind = page.inner_text("#similar-title").removeprefix("Similar ")
    assert page.inner_text("#similar-note") == f"This catalogue has no {kind}." and shown_ids(page) == []
    page.locator("#outlines .outline .tag").nth(kinds.index("shoes")).click()
    assert page.locator("#similar-note").is_hidden() and len(shown_ids(page)) > 0


def test_a_product_shot_shows_no_outlines_and_the_usual_results(shop_page, shop_photos):
    upload_look(shop_page, PERSON)
    look = upload_look(shop_page, shop_photos["dress/dress0"])
    assert look["product_shot"] is True
    assert shop_page.locator("#look").is_hidden() and shop_page.locator("#outlines .outline").count() == 0
    assert shown_ids(shop_page)[0] == "dress/dress0" and shop_page.inner_text("#similar .sc >> nth=0") == "1.000"
    assert texts(shop_page, "#complements h3") == ["Shoes", "Bags"]
    assert shop_page.inner_text("#complements-title") == "Goes with"
    assert shop_page.inner_text("#similar-title") == "Similar items"
    assert shop_page.inner_text("#query-slot") == "looks like: dresses & jumpsuits"
    assert shop_page.locator("#category").is_enabled()


def test_a_category_chosen_first_still_filters_a_product_shots_similar_items(page, photos):
    page.select_option("#category", "shoes")
    page.set_input_files("#file", str(photos["tops/tops1"]))
    page.wait_for_function("[...document.querySelectorAll('#similar .cat')].map((n) => n.textContent).join()"
                           " === 'shoes,shoes,shoes,shoes'")
    page.locator("#complements .row").nth(1).wait_for()
    assert texts(page, "#complements h3") == ["Bottoms", "Shoes"]


def test_the_page_is_busy_until_the_look_arrives(page, photos):
    held = []
    page.route("**/look?*", lambda route: held.append(route))  # the answer waits until the test lets it through
    page.set_input_files("#file", str(photos["tops/tops1"]))
    page.wait_for_function("document.querySelector('#busy').textContent === 'Searching…'")
    page.locator("#query-image").wait_for(state="visible")
    assert page.get_attribute("#query-image", "src").startswith("blob:") and len(held) == 1
    assert page.get_attribute("#results", "aria-busy") == "true"
    held[0].fallback()
    page.locator("#similar .card").first.wait_for()
    page.locator("#busy").wait_for(state="hidden")
    assert page.get_attribute("#results", "aria-busy") == "false" and page.locator("#complements .row").count() == 2


def test_a_rejected_look_shows_the_servers_reason_once(page, tmp_path):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.evaluate("window.unhandled = []; addEventListener('unhandledrejection', (e) => unhandled.push(`${e.reason}`))")
    bad = tmp_path / "holiday.jpg"
    bad.write_text("this is not a photo")
    upload_look(page, bad)
    message = page.inner_text("#message")
    assert message.startswith("holiday.jpg: not an image (text)") and page.inner_text("body").count(message) == 1
    assert page.evaluate("unhandled") == [] and errors == []
    assert page.locator("#results").is_hidden() and page.locator("#query-image").is_hidden()


def test_on_a_phone_the_look_fits_the_screen_under_the_photo(browser, shop_site):
    page = open_page(browser, shop_site, PHONE)
    upload_look(page, PERSON)
    page.locator("#outlines .outline").nth(1).wait_for()
    query, results, photo = (page.locator(s).bounding_box() for s in (".query", "#results", "#look-image"))
    assert query["y"] + query["height"] <= results["y"] <= photo["y"]
    assert photo["x"] >= 0 and photo["x"] + photo["width"] <= PHONE["width"]
    page.context.close()
