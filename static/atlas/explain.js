/**
 * The "Explain a drawing" page (templates/atlas/explain.html). ES module, no dependencies, safe
 * under the strict CSP: no inline code, no eval, no style attributes.
 *
 * - Keeps the intensity read-out ([data-explain-intensity-value]) beside the slider.
 * - A change inside [data-explain-rerun] (symptoms, red-flag answers) fires "explain:rerun" on the
 *   form, one of its hx-trigger events, so htmx re-runs the engine. Painting fires bodymap.js's
 *   own "bodymap:change", which the form also listens for.
 * - Pointing at or focusing a likely source ([data-explain-zones] = {"cell": "essential"|"spillover"})
 *   shows its referral zones on the drawing: every drawing of those cells gets data-category and a
 *   bm-zone--<category> class, and an outline copy of each is drawn in an .explain-zones layer above
 *   the paint (below the widget's own hover ring). Leaving or blurring the source clears it.
 */

const SVGNS = "http://www.w3.org/2000/svg";
const ZONE_ITEM = "[data-explain-zones]";

let shown = null; // {item, cells: Element[], layers: Element[]}

function zoneLayer(svg) {
  let layer = svg.querySelector(":scope > .explain-zones");
  if (!layer) {
    layer = document.createElementNS(SVGNS, "g");
    layer.setAttribute("class", "explain-zones");
    layer.setAttribute("aria-hidden", "true");
    svg.insertBefore(layer, svg.querySelector(":scope > .bm-hilite"));
  }
  return layer;
}

export function clearZones() {
  if (!shown) return;
  for (const el of shown.cells) {
    delete el.dataset.category;
    el.classList.remove("bm-zone--essential", "bm-zone--spillover");
  }
  for (const layer of shown.layers) layer.replaceChildren();
  shown.item.classList.remove("explain-hypothesis--showing");
  shown = null;
}

export function showZones(item) {
  if (shown && shown.item === item) return;
  clearZones();
  let zones;
  try {
    zones = JSON.parse(item.dataset.explainZones || "{}");
  } catch (err) {
    return;
  }
  const map = document.querySelector(".bodymap--input");
  if (!map) return;
  const cells = [];
  const layers = new Set();
  for (const [cell, category] of Object.entries(zones)) {
    if (category !== "essential" && category !== "spillover") continue;
    for (const el of map.querySelectorAll(`.bm-cell[data-cell="${CSS.escape(cell)}"]`)) {
      el.dataset.category = category;
      el.classList.add(`bm-zone--${category}`);
      cells.push(el);
      const layer = zoneLayer(el.ownerSVGElement);
      const outline = document.createElementNS(SVGNS, "path");
      outline.setAttribute("d", el.getAttribute("d"));
      outline.setAttribute("class", `explain-zone explain-zone--${category}`);
      // essential outlines go last so they sit above a neighbouring spillover outline
      if (category === "essential") layer.appendChild(outline);
      else layer.insertBefore(outline, layer.firstChild);
      layers.add(layer);
    }
  }
  item.classList.add("explain-hypothesis--showing");
  shown = { item, cells, layers: Array.from(layers) };
}

function itemOf(node) {
  return node && node.closest ? node.closest(ZONE_ITEM) : null;
}

document.addEventListener("mouseover", (e) => {
  const item = itemOf(e.target);
  if (item) showZones(item);
});
document.addEventListener("mouseout", (e) => {
  const item = itemOf(e.target);
  if (item && !item.contains(e.relatedTarget)) clearZones();
});
document.addEventListener("focusin", (e) => {
  const item = itemOf(e.target);
  if (item) showZones(item);
});
document.addEventListener("focusout", (e) => {
  const item = itemOf(e.target);
  if (item && !item.contains(e.relatedTarget)) clearZones();
});
// A swap replaces the list: drop zones whose source has gone.
document.addEventListener("htmx:afterSwap", () => {
  if (shown && !document.contains(shown.item)) clearZones();
});

document.addEventListener("input", (e) => {
  if (!(e.target instanceof HTMLInputElement) || !e.target.matches("[data-bodymap-intensity]")) return;
  const out = document.querySelector("[data-explain-intensity-value]");
  if (out) out.textContent = e.target.value;
});

document.addEventListener("change", (e) => {
  const group = e.target.closest ? e.target.closest("[data-explain-rerun]") : null;
  const form = group ? group.closest("[data-explain-form]") : null;
  if (form) form.dispatchEvent(new CustomEvent("explain:rerun", { bubbles: true }));
});

// While htmx fetches, mark the results busy (styled dimmed; screen readers wait for the update).
document.addEventListener("htmx:beforeRequest", (e) => {
  const results = document.getElementById("explain-results");
  if (results && e.target.matches && e.target.matches("[data-explain-form]")) results.setAttribute("aria-busy", "true");
});
document.addEventListener("htmx:afterRequest", () => {
  const results = document.getElementById("explain-results");
  if (results) results.setAttribute("aria-busy", "false");
});
