// outfitter's page: search by photo or catalogue item, see similar and complementary items, score an outfit.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { health: null, outfit: new Map(), browseOffset: 0, browseCategory: "" };
const KEY_COOKIE = "outfitter_key";
const PAGE_SIZE = 60;
// Outfit slots as row headings; any other row name (an asked category) is shown capitalised.
const SLOT_NAMES = {
  accessories: "Accessories", "all-body": "Dresses & jumpsuits", bags: "Bags", bottoms: "Bottoms", hats: "Hats",
  jewellery: "Jewellery", outerwear: "Outerwear", scarves: "Scarves", shoes: "Shoes", sunglasses: "Sunglasses",
  tops: "Tops",
};
const VERDICT_WORDS = { "goes well": "Goes well", "so-so": "So-so", clashes: "Clashes" };

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

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
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

function card(item, { score } = {}) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.id = item.id;
  node.title = item.id;
  const img = node.querySelector("img");
  img.src = item.image_url;
  img.alt = item.id;
  node.querySelector(".cat").textContent = item.category || "";
  node.querySelector(".sc").textContent = score === undefined ? "" : score.toFixed(3);
  node.querySelector(".pick").addEventListener("click", () => searchItem(item));
  const add = node.querySelector(".add");
  add.addEventListener("click", () => addToOutfit(item));
  return node;
}

// ---- searching

function setQuery(src, caption, slot) {
  const img = $("query-image");
  img.src = src;
  img.hidden = false;
  $("drop-text").hidden = true;
  $("query-caption").textContent = caption;
  $("query-slot").textContent = slot ? `looks like: ${slotName(slot).toLowerCase()}` : "";
  $("query-slot").title = slot ? `predicted outfit slot: ${slot}` : "";
  $("query-slot").hidden = !slot;
}

function categoryParam() {
  const category = $("category").value;
  return category ? `&category=${encodeURIComponent(category)}` : "";
}

async function searchPhoto(file) {
  const limit = state.health && state.health.max_upload_bytes;
  if (limit && file.size > limit) {
    showMessage(`That photo is ${(file.size / 1e6).toFixed(1)} MB; the limit is ${(limit / 1e6).toFixed(1)} MB.`);
    return;
  }
  await guarded(async () => {
    const similar = postImage(`similar?k=12${categoryParam()}`, file);
    const complements = postImage("complementary?k=6", file);
    const { query_slots: slots } = await showResults(await similar, complements);
    setQuery(URL.createObjectURL(file), `your photo: ${file.name}`, slots[0]);
  });
}

async function searchItem(item) {
  await guarded(async () => {
    const similar = postJson(`similar?k=12${categoryParam()}`, { item_id: item.id });
    const complements = postJson("complementary?k=6", { item_ids: [item.id] });
    await showResults(await similar, complements);
    setQuery(item.image_url, `catalogue item ${item.id}${item.category ? ` (${item.category})` : ""}`);
    window.scrollTo({ top: 0, behavior: "smooth" });
  });
}

// Similar items, then one row of complements per outfit slot (each card names its own category); returns the
// complements response, whose query_slots say what the query looks like.
async function showResults(similar, complementsPromise) {
  $("results").hidden = false;
  $("similar").replaceChildren(...similar.hits.map((hit) => card(hit, { score: hit.score })));
  const complements = await complementsPromise;
  const rows = Object.entries(complements.results).filter(([, hits]) => hits.length).map(([name, hits]) => {
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
  return complements;
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
  $("file").addEventListener("change", (event) => event.target.files[0] && searchPhoto(event.target.files[0]));
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
    const { items, categories } = state.health;
    $("status").textContent = `${items} items in ${categories.length} categories`;
    fillCategories($("category"), categories);
    fillCategories($("browse-category"), categories);
    await browse(true);
  });
}

start();
