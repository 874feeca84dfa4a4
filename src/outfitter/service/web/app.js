// outfitter's page: search by photo or catalogue item, see similar and complementary items, shop the look of a photo
// of a person garment by garment, score an outfit.
"use strict";

const $ = (id) => document.getElementById(id);
// query: the current search (a photo or a catalogue item); searchRun: the latest search's number, so that an older
// one's late answer is dropped; complementsFor: the query whose complements are shown; look: the photo of a person
// whose garments are outlined (null for any other query).
const state = {
  health: null, outfit: new Map(), browseOffset: 0, browseCategory: "", query: null, searchRun: 0,
  complementsFor: null, look: null,
};
const KEY_COOKIE = "outfitter_key";
const PAGE_SIZE = 60;
const MB = 1024 * 1024; // the README's MB, as the server counts its upload limit
// Outfit slots as row headings; any other row name (an asked category) is shown capitalised.
const SLOT_NAMES = {
  accessories: "Accessories", "all-body": "Dresses & jumpsuits", bags: "Bags", bottoms: "Bottoms", hats: "Hats",
  jewellery: "Jewellery", outerwear: "Outerwear", scarves: "Scarves", shoes: "Shoes", sunglasses: "Sunglasses",
  tops: "Tops",
};
const VERDICT_WORDS = { "goes well": "Goes well", "so-so": "So-so", clashes: "Clashes" };
// The complements' heading and hint for one query, and for the look of a photo of a person.
const COMPLEMENTS_TEXT = {
  query: ["Goes with", "one row per kind of item people wear with it, most worn first"],
  look: ["Completes the look", "one row per kind of item the photo does not show, to go with all of it"],
};
const NOTHING_TO_ADD = "The photo already shows every kind of item this catalogue has to go with it.";

const slotName = (row) => SLOT_NAMES[row] || row.charAt(0).toUpperCase() + row.slice(1);

// ---- API key: taken once from ?key=..., kept in a same-site cookie that also authorises <img> requests.

function readKey() {
  const match = document.cookie.match(new RegExp(`(?:^|; )${KEY_COOKIE}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : "";
}

function storeKey(key) {
  document.cookie = `${KEY_COOKIE}=${encodeURIComponent(key)}; path=/; SameSite=Strict`;
}

function keyFromUrl() {
  const url = new URL(location.href);
  if (url.searchParams.has("key")) {
    storeKey(url.searchParams.get("key"));
    url.searchParams.delete("key");
    history.replaceState(null, "", url);
  }
}

// ---- calling the API

async function api(path, options = {}, retried = false) {
  const headers = new Headers(options.headers || {});
  const key = readKey();
  if (key) headers.set("X-API-Key", key);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried) {
    const entered = prompt("This outfitter server needs an API key:");
    if (entered) {
      storeKey(entered.trim());
      return api(path, options, true);
    }
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

const postJson = (path, data) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });

function postImage(path, file) {
  const form = new FormData();
  form.append("image", file);
  return api(path, { method: "POST", body: form });
}

// ---- messages

// Text (never HTML) into a node, hidden when empty.
function showText(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

const showMessage = (text) => showText($("message"), text);

// A size in the README's units to one decimal at most, rounded the safe way: a limit down and a file's size up, so
// that a photo shown as within the limit is within it. bytes * 10 / a power of two is exact, so 10 MiB is "10 MB".
function formatBytes(bytes, round = Math.floor) {
  const [unit, size] = bytes >= MB ? ["MB", MB] : bytes >= 1024 ? ["KB", 1024] : ["bytes", 1];
  return `${round((bytes * 10) / size) / 10} ${unit}`;
}

async function guarded(task) {
  try {
    showMessage("");
    await task();
  } catch (error) {
    showMessage(error.message || String(error));
  }
}

// ---- cards

// A shop link from an item's `url` column: absolute http(s) only (never javascript:, data: or a relative path).
function shopUrl(raw) {
  try {
    const url = new URL(String(raw));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const column = (attributes, ...names) =>
  String(names.map((name) => attributes[name]).find((value) => value != null && value !== "") ?? "").trim();

// The item's name (linked to its shop page), and price, from its catalogue columns when it has them; older servers
// send no attributes with hits.
function fillAttributes(node, attributes) {
  const name = node.querySelector(".name");
  const url = shopUrl(column(attributes, "url"));
  showText(name, column(attributes, "name", "title") || (url ? "shop page" : ""));
  name.title = name.textContent; // the whole name, where the card cuts it short
  if (url) name.href = url;
  showText(node.querySelector(".price"), column(attributes, "price"));
  return name.textContent;
}

// How close a similar item is, in words ("very similar", "similar", "loosely related"), beside the raw score.
function fillMatch(node, match) {
  showText(node, match || "");
  node.dataset.match = match || "";
}

function card(item, { score } = {}) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.id = item.id;
  node.title = item.id;
  const name = fillAttributes(node, item.attributes || {});
  const img = node.querySelector("img");
  img.src = item.image_url;
  img.alt = name || item.id;
  node.querySelector(".cat").textContent = item.category || "";
  node.querySelector(".sc").textContent = score === undefined ? "" : score.toFixed(3);
  fillMatch(node.querySelector(".match"), item.match);
  node.querySelector(".pick").addEventListener("click", () => searchItem(item));
  const add = node.querySelector(".add");
  add.addEventListener("click", () => addToOutfit(item));
  return node;
}

// ---- searching: a query is a photo or a catalogue item; a newer search supersedes an older one

// Show the query at once (a photo as an object URL, the previous one released); its slot comes with the complements.
function setQuery(src, caption) {
  const img = $("query-image");
  const old = img.src;
  img.src = src;
  img.hidden = false;
  if (old.startsWith("blob:") && old !== src) URL.revokeObjectURL(old);
  $("drop-text").hidden = true;
  $("query-caption").textContent = caption;
  showSlot(null);
}

function showSlot(slot) {
  showText($("query-slot"), slot ? `looks like: ${slotName(slot).toLowerCase()}` : "");
  $("query-slot").title = slot ? `predicted outfit slot: ${slot}` : "";
}

// A photo that does not decode (a rejected upload) gives the drop zone back instead of a broken image.
function queryImageFailed() {
  $("query-image").hidden = true;
  $("drop-text").hidden = false;
}

function setBusy(busy) {
  $("busy").textContent = busy ? "Searching…" : "";
  $("results").setAttribute("aria-busy", String(busy));
}

function categoryParam() {
  const category = $("category").value;
  return category ? `&category=${encodeURIComponent(category)}` : "";
}

// A photo's first search asks /look (the garments in it, or one product); the filter asks /similar again.
const photoQuery = (file) => ({
  similar: () => postImage(`similar?k=12${categoryParam()}`, file),
  complements: () => postImage("complementary?k=6", file),
  look: () => postImage("look?k=12&complements_k=6", file),
  showsSlot: true,
});

const itemQuery = (item) => ({
  similar: () => postJson(`similar?k=12${categoryParam()}`, { item_id: item.id }),
  complements: () => postJson("complementary?k=6", { item_ids: [item.id] }),
  showsSlot: false,
});

function searchPhoto(file) {
  const limit = state.health && state.health.max_upload_bytes;
  if (limit && file.size > limit) {
    showMessage(`That photo is ${formatBytes(file.size, Math.ceil)}; the limit is ${formatBytes(limit)}.`);
    return;
  }
  setQuery(URL.createObjectURL(file), `your photo: ${file.name}`);
  newSearch(photoQuery(file));
}

function searchItem(item) {
  setQuery(item.image_url, `catalogue item ${item.id}${item.category ? ` (${item.category})` : ""}`);
  window.scrollTo({ top: 0, behavior: "smooth" });
  newSearch(itemQuery(item));
}

function newSearch(query) {
  state.query = query;
  search(query, true);
}

// The "Similar items in" filter asks again for the current query's similar items (and its complements, if a
// superseded search never showed them).
function refilter() {
  if (state.query) search(state.query, state.complementsFor !== state.query);
}

// Similar items and (with `complements`) one row per outfit slot; a photo's with its garments, from /look. Busy until
// the answers or an error arrive; an error is shown once, hides results that no longer match the query, and never
// escapes as an unhandled rejection.
async function search(query, complements) {
  const run = ++state.searchRun;
  const current = () => run === state.searchRun;
  setBusy(true);
  showMessage("");
  try {
    await (complements && query.look ? searchLook(query, current) : searchSimilar(query, complements, current));
  } catch (error) {
    if (!current()) return;
    $("results").hidden = true;
    state.complementsFor = null;
    showLook(null);
    showMessage(error.message || String(error));
  } finally {
    if (current()) setBusy(false);
  }
}

// Similar items, then (with `complements`) the rows, each shown as it arrives.
async function searchSimilar(query, complements, current) {
  const similar = query.similar();
  const rows = complements ? query.complements() : null;
  if (rows) rows.catch(() => {}); // awaited below; handled meanwhile in case `similar` fails first
  const found = await similar;
  if (!current()) return;
  showLook(null);
  showSimilar(found.hits);
  if (!rows) return;
  const answer = await rows;
  if (!current()) return;
  showComplements(answer.results);
  state.complementsFor = query;
  if (query.showsSlot) showSlot(answer.query_slots[0]);
}

// A photo's garments. A product shot shows as a photo always has (/look searches every category, so with one chosen
// its similar items are asked again); a photo of a person, outlined garment by garment, with what completes the look.
async function searchLook(query, current) {
  const look = await query.look();
  if (!current()) return;
  if (look.product_shot) {
    const [garment] = look.garments;
    const hits = categoryParam() ? (await query.similar()).hits : garment.similar;
    if (!current()) return;
    showLook(null);
    showSimilar(hits);
    showSlot(garment.category);
  } else {
    showLook(look);
    const rows = Object.values(look.complementary).some((hits) => hits.length);
    showText($("complements-note"), rows ? "" : NOTHING_TO_ADD);
  }
  showComplements(look.complementary);
  state.complementsFor = query;
}

// The similar items, or (`none`) why there are none.
function showSimilar(hits, none = "") {
  $("results").hidden = false;
  $("similar").replaceChildren(...hits.map((hit) => card(hit, { score: hit.score })));
  showText($("similar-note"), hits.length ? "" : none);
}

// ---- the look: a photo of a person, one outline per garment found; picking one shows the items like it

// The photo with its outlines, the largest garment picked, or (null) back to one query. The filter is off meanwhile:
// each garment's similar items already come from the categories of its kind.
function showLook(look) {
  state.look = look;
  $("look").hidden = !look;
  $("category").disabled = Boolean(look);
  $("category").title = look ? "each garment's similar items come from the categories of its kind" : "";
  const [title, hint] = COMPLEMENTS_TEXT[look ? "look" : "query"];
  $("complements-title").textContent = title;
  $("complements-hint").textContent = hint;
  showText($("complements-note"), "");
  if (!look) {
    $("outlines").replaceChildren();
    $("similar-title").textContent = "Similar items";
    return;
  }
  $("look-image").src = $("query-image").src;
  $("outlines").replaceChildren(...look.garments.map((garment, index) => outline(garment, index, look.size)));
  pickGarment(0);
}

const percent = (part, whole) => `${(100 * part) / whole}%`;
const garmentLabel = (garment) => `${garment.category || "garment"} ${Math.round(garment.confidence * 100)}%`;

// A garment's outline: its box in the photo's pixels as percentages of the photo, so that it follows the photo's
// displayed size; a button, so that a click, Enter or Space picks it. Later (smaller) garments lie on top.
function outline(garment, index, [width, height]) {
  const [x0, y0, x1, y1] = garment.box;
  const node = document.createElement("button");
  node.type = "button";
  node.className = "outline";
  const [left, top] = [percent(x0, width), percent(y0, height)];
  Object.assign(node.style, { left, top, width: percent(x1 - x0, width), height: percent(y1 - y0, height) });
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = garmentLabel(garment);
  node.append(tag);
  node.setAttribute("aria-label", `${tag.textContent} sure: show similar items`);
  node.addEventListener("click", () => pickGarment(index));
  return node;
}

// Highlight the garment's outline and show the items like it.
function pickGarment(index) {
  const garment = state.look.garments[index];
  [...$("outlines").children].forEach((node, i) => node.setAttribute("aria-pressed", String(i === index)));
  const kind = garment.category ? slotName(garment.category).toLowerCase() : "items";
  $("similar-title").textContent = `Similar ${kind}`;
  showSimilar(garment.similar, `This catalogue has no ${kind}.`);
}

// One row of complements per outfit slot (each card names its own category).
function showComplements(results) {
  const rows = Object.entries(results).filter(([, hits]) => hits.length).map(([name, hits]) => {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.row = name;
    const title = document.createElement("h3");
    title.textContent = slotName(name);
    const strip = document.createElement("div");
    strip.className = "strip";
    strip.append(...hits.map((hit) => card(hit, { score: hit.score })));
    row.append(title, strip);
    return row;
  });
  $("complements").replaceChildren(...rows);
}

// ---- the outfit

function addToOutfit(item) {
  state.outfit.set(item.id, item);
  renderOutfit();
}

function renderOutfit() {
  const items = [...state.outfit.values()];
  $("outfit-items").replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    const img = document.createElement("img");
    img.src = item.image_url;
    img.alt = item.id;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.title = `remove ${item.id}`;
    remove.addEventListener("click", () => { state.outfit.delete(item.id); renderOutfit(); });
    li.append(img, remove);
    return li;
  }));
  $("outfit-empty").hidden = items.length > 0;
  $("outfit-clear").hidden = items.length === 0;
  $("outfit-score").hidden = true;
  if (items.length >= 2) scoreOutfit(items.map((item) => item.id));
}

async function scoreOutfit(ids) {
  await guarded(async () => {
    const result = await postJson("outfit-score", { item_ids: ids });
    if (ids.join() !== [...state.outfit.keys()].join()) return; // the outfit changed meanwhile
    const percent = `${Math.round(result.score * 100)}%`;
    const verdict = $("outfit-verdict");
    verdict.textContent = VERDICT_WORDS[result.verdict] || `${percent} compatible`;
    verdict.dataset.verdict = result.verdict || "";
    $("outfit-score").dataset.verdict = result.verdict || "";
    $("outfit-value").textContent = percent;
    $("outfit-bar").style.width = `${(result.score * 100).toFixed(1)}%`;
    const slotOf = new Map(ids.map((id, i) => [id, result.query_slots[i]]));
    $("outfit-clashes").replaceChildren(...result.clashes.map(({ a, b }) => {
      const li = document.createElement("li");
      li.textContent = clashText(a, b, slotOf.get(a), slotOf.get(b));
      return li;
    }));
    $("outfit-clashes").hidden = result.clashes.length === 0;
    $("outfit-score").hidden = false;
  });
}

// Why two items cannot be worn together: two of one kind (two pairs of trousers), or kinds that exclude each other.
function clashText(a, b, slotA, slotB) {
  if (slotA && slotA === slotB) return `two items of one kind (${slotName(slotA).toLowerCase()}): ${a} and ${b}`;
  const kinds = slotA && slotB ? ` (${slotName(slotA).toLowerCase()} and ${slotName(slotB).toLowerCase()})` : "";
  return `not worn together${kinds}: ${a} and ${b}`;
}

// ---- the catalogue browser

async function browse(reset) {
  if (reset) {
    state.browseOffset = 0;
    $("catalogue").replaceChildren();
  }
  await guarded(async () => {
    const category = state.browseCategory ? `&category=${encodeURIComponent(state.browseCategory)}` : "";
    const page = await api(`items?offset=${state.browseOffset}&limit=${PAGE_SIZE}${category}`);
    $("catalogue").append(...page.items.map((item) => card(item)));
    state.browseOffset += page.items.length;
    $("more").hidden = state.browseOffset >= page.total;
  });
}

// ---- start

function fillCategories(select, names) {
  select.append(...names.map((name) => new Option(name, name)));
}

function wireDrop() {
  const drop = $("drop");
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = ""; // so that choosing the same file again is a change, and searches again
    if (file) searchPhoto(file);
  });
  $("query-image").addEventListener("error", queryImageFailed);
  ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) searchPhoto(file);
  });
}

async function start() {
  keyFromUrl();
  wireDrop();
  $("outfit-clear").addEventListener("click", () => { state.outfit.clear(); renderOutfit(); });
  $("more").addEventListener("click", () => browse(false));
  $("category").addEventListener("change", refilter);
  $("browse-category").addEventListener("change", (event) => {
    state.browseCategory = event.target.value;
    browse(true);
  });
  await guarded(async () => {
    state.health = await api("health");
    if (state.health.items == null) {  // the server has a key and we have none: /health told us nothing more
      const entered = prompt("This outfitter server needs an API key:");
      if (entered) storeKey(entered.trim());
      state.health = await api("health");
    }
    const { items, categories, max_upload_bytes: limit } = state.health;
    $("status").textContent = `${items} items in ${categories.length} categories`;
    showText($("upload-limit"), limit ? `photos up to ${formatBytes(limit)}` : "");
    fillCategories($("category"), categories);
    fillCategories($("browse-category"), categories);
    await browse(true);
  });
}

start();
