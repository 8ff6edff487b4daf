/**
 * Knotwork body map widget (ES module, no dependencies, safe under a strict CSP:
 * no inline scripts, no inline event handlers, no eval, no style attributes in markup).
 *
 * Labels: the cells' aria-labels (rendered in the page's language) name the areas in the summary,
 * the tooltip and to screen readers; the quality control's option labels name the qualities, also
 * for a drawing restored from the output field; the map's data-bodymap-keys attribute, when
 * present, is the keyboard hint read to screen readers.
 *
 * Load it once per page:  <script type="module" src="{% static 'atlas/bodymap.js' %}"></script>
 * It initialises every map on DOMContentLoaded and again on htmx's `htmx:load` event, so maps
 * swapped in by htmx work too. `initBodymap(element)` and `initAll(root)` are exported.
 *
 * MARKUP CONTRACT
 * ---------------
 * The map (rendered by knotwork.atlas.bodymap.render_bodymap):
 *   <div class="bodymap bodymap--input|display" data-bodymap data-bodymap-mode="input|display"
 *        data-bodymap-max="10" data-bodymap-scale="0:#rrggbb 0.25:#rrggbb ..." data-bodymap-neutral="#rrggbb">
 *     <svg data-view="front|back"> ... <path class="bm-cell" data-cell="temple:right"
 *          aria-label="Right temple" data-value="0" [data-quality="aching"] [data-category="essential"]
 *          tabindex="0" role="button" aria-pressed="false"> ... <g class="bm-hilite"></g></svg>
 *   </div>
 *   One cell may be drawn by several shapes (front view, back view, insets); they share data-cell
 *   and are always updated together.
 *
 * Form controls (input mode; all optional, rendered by the page). They are looked up inside the
 * closest ancestor of the map carrying [data-bodymap-scope], else the closest <form>, else the
 * document:
 *   [data-bodymap-intensity]  <input type="range|number">, <select>, or a container of radio
 *                             inputs. Intensity 1..data-bodymap-max (default 5).
 *   [data-bodymap-quality]    <select>, <input>, or a container of radio inputs. The value is the
 *                             quality id (e.g. "aching"); the summary shows the option's / radio
 *                             label's text. Empty means no quality (null in the JSON).
 *   [data-bodymap-erase]      checkbox (checked = erase mode) or <button> (the module toggles
 *                             its aria-pressed on click; "true" = erase mode).
 *   [data-bodymap-clear]      <button>: removes every mark.
 *   [data-bodymap-output]     <input type="hidden" name="...">: always holds the drawing as JSON
 *                             {"marks":[{"cell":"temple:right","intensity":7,"quality":"aching"}]}
 *                             (marks in head-to-toe order). If it holds such JSON when the map
 *                             initialises (e.g. a form re-shown after a validation error), that
 *                             drawing is restored; otherwise the cells' data-value/data-quality are.
 *   [data-bodymap-summary]    its textContent becomes e.g. "right temple 7/10, aching; left jaw 3/10",
 *                             or its data-bodymap-empty attribute (default "Nothing marked yet.").
 *
 * Interaction (input mode): click/tap a cell to paint it with the current intensity and quality,
 * or drag across cells to paint a stroke (pointer events; touch included). Clicking a cell that
 * already carries exactly the current intensity and quality clears it; in erase mode clicking or
 * dragging clears. Enter or Space on a focused cell does the same as a click. The map is one
 * tab stop: arrow keys move between neighbouring cells, Home/End to the first/last (roving tabindex).
 * Display mode: hovering or focusing a cell shows its name (and value) in a tooltip.
 *
 * EVENT: after every change (once per drag stroke) the map element dispatches a bubbling
 *   CustomEvent "bodymap:change" with detail {marks: [...same as the output JSON...]}.
 *   htmx: hx-trigger="bodymap:change from:closest form" (or listen on the map).
 */

const SVGNS = "http://www.w3.org/2000/svg";

function parseScale(text) {
  const stops = [];
  for (const part of (text || "").trim().split(/\s+/)) {
    const i = part.indexOf(":");
    if (i > 0) stops.push([parseFloat(part.slice(0, i)), part.slice(i + 1)]);
  }
  return stops.length ? stops : [[0, "#fff3b8"], [1, "#8e0c12"]];
}

function hexRgb(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** Same interpolation as knotwork.atlas.bodymap.colour_for. */
export function colourFor(value, max, stops, neutral) {
  if (!(value > 0) || !(max > 0)) return neutral;
  const t = Math.min(value / max, 1);
  for (let k = 0; k < stops.length - 1; k++) {
    const [t0, c0] = stops[k];
    const [t1, c1] = stops[k + 1];
    if (t <= t1) {
      const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
      const a = hexRgb(c0);
      const b = hexRgb(c1);
      return "#" + a.map((v, i) => Math.floor(v + (b[i] - v) * f + 0.5).toString(16).padStart(2, "0")).join("");
    }
  }
  return stops[stops.length - 1][1];
}

function readControl(ctrl) {
  if (!ctrl) return { value: "", label: "" };
  if (ctrl instanceof HTMLSelectElement) {
    const opt = ctrl.selectedOptions[0];
    return { value: ctrl.value, label: opt ? opt.textContent.trim() : ctrl.value };
  }
  if (ctrl instanceof HTMLInputElement) {
    if (ctrl.type === "radio" || ctrl.type === "checkbox") {
      return ctrl.checked ? { value: ctrl.value, label: labelText(ctrl) } : { value: "", label: "" };
    }
    return { value: ctrl.value, label: ctrl.value };
  }
  const checked = ctrl.querySelector("input:checked");
  return checked ? { value: checked.value, label: labelText(checked) } : { value: "", label: "" };
}

/** The label the quality control gives a value (a restored mark shows it, not its id). */
function labelOf(ctrl, value) {
  if (!ctrl || !value) return value || "";
  if (ctrl instanceof HTMLSelectElement) {
    const opt = Array.from(ctrl.options).find((o) => o.value === value);
    return opt ? opt.textContent.trim() : value;
  }
  const inputs = ctrl instanceof HTMLInputElement ? [ctrl] : Array.from(ctrl.querySelectorAll("input"));
  const input = inputs.find((i) => i.value === value);
  return input && (input.type === "radio" || input.type === "checkbox") ? labelText(input) : value;
}

function labelText(input) {
  const l = input.labels && input.labels[0];
  return l ? l.textContent.trim() : input.value;
}

function lowerFirst(s) {
  return s ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

class BodyMap {
  constructor(root) {
    this.root = root;
    this.mode = root.dataset.bodymapMode === "input" ? "input" : "display";
    this.max = parseFloat(root.dataset.bodymapMax) || 10;
    this.stops = parseScale(root.dataset.bodymapScale);
    this.neutral = root.dataset.bodymapNeutral || "#f5f2ed";
    this.shapes = Array.from(root.querySelectorAll(".bm-cell[data-cell]"));
    this.byCell = new Map();
    for (const el of this.shapes) {
      const c = el.dataset.cell;
      if (!this.byCell.has(c)) this.byCell.set(c, []);
      this.byCell.get(c).push(el);
    }
    this.order = Array.from(this.byCell.keys()); // head-to-toe, as rendered
    this.labels = new Map(this.order.map((c) => [c, this.byCell.get(c)[0].getAttribute("aria-label") || c]));
    this.marks = new Map(); // cell -> {intensity, quality, qualityLabel}
    this.scope = root.closest("[data-bodymap-scope]") || root.closest("form") || document;
    this.tooltip = document.createElement("div");
    this.tooltip.className = "bm-tooltip";
    this.tooltip.hidden = true;
    this.tooltip.setAttribute("aria-hidden", "true");
    root.appendChild(this.tooltip);
    this.stroke = null;
    this.bindHover();
    if (this.mode === "input") {
      this.loadInitial();
      this.bindInput();
      this.bindArrows();
      this.sync();
    }
  }

  // ---- keyboard: the map is one tab stop; arrow keys move to the nearest area in that direction
  // (roving tabindex), Home and End to the first and last area, head to toe. Each area is a
  // button with its name and pressed state, so a screen reader announces where focus lands.
  bindArrows() {
    this.focusable = this.shapes.filter((el) => el.hasAttribute("tabindex"));
    if (!this.focusable.length) return;
    const hint = document.createElement("p");
    hint.id = `${this.root.id || "bodymap"}-keys-${Math.random().toString(36).slice(2, 8)}`;
    hint.className = "visually-hidden";
    // The page's language comes with the map (data-bodymap-keys); English when it does not.
    hint.textContent = this.root.dataset.bodymapKeys || "Arrow keys move between areas; Enter or Space marks or clears the area.";
    this.root.appendChild(hint);
    const first = this.focusable.find((el) => this.marks.has(el.dataset.cell)) || this.focusable[0];
    for (const el of this.focusable) {
      el.setAttribute("tabindex", el === first ? "0" : "-1");
      el.setAttribute("aria-describedby", hint.id);
    }
    this.root.addEventListener("keydown", (e) => {
      const from = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (!from || !this.focusable.includes(from)) return;
      const to = this.neighbour(from, e.key);
      if (!to) return;
      e.preventDefault();
      this.rove(to);
    });
    this.root.addEventListener("focusin", (e) => {
      const el = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (el && this.focusable.includes(el)) this.rove(el, false);
    });
  }

  rove(el, focus = true) {
    for (const other of this.focusable) if (other !== el && other.getAttribute("tabindex") === "0") other.setAttribute("tabindex", "-1");
    el.setAttribute("tabindex", "0");
    if (focus) el.focus();
  }

  neighbour(from, key) {
    if (key === "Home") return this.focusable[0];
    if (key === "End") return this.focusable[this.focusable.length - 1];
    const dirs = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };
    const d = dirs[key];
    if (!d) return null;
    const centre = (el) => {
      const r = el.getBoundingClientRect();
      return [r.left + r.width / 2, r.top + r.height / 2];
    };
    const [fx, fy] = centre(from);
    let best = null;
    let bestScore = Infinity;
    for (const el of this.focusable) {
      if (el === from || el.dataset.cell === from.dataset.cell) continue;
      const [x, y] = centre(el);
      const along = (x - fx) * d[0] + (y - fy) * d[1]; // distance in the key's direction
      if (along <= 1) continue;
      const across = Math.abs((x - fx) * d[1]) + Math.abs((y - fy) * d[0]);
      const score = along + 2 * across; // prefer areas straight ahead over diagonal ones
      if (score < bestScore) {
        bestScore = score;
        best = el;
      }
    }
    return best;
  }

  control(name) {
    return this.scope.querySelector(`[data-bodymap-${name}]`);
  }

  // ---- state
  current() {
    const raw = parseInt(readControl(this.control("intensity")).value, 10);
    const intensity = Number.isFinite(raw) ? Math.min(Math.max(raw, 1), this.max) : Math.min(5, this.max);
    const q = readControl(this.control("quality"));
    return { intensity, quality: q.value || null, qualityLabel: q.value ? q.label : "" };
  }

  erasing() {
    const e = this.control("erase");
    if (!e) return false;
    if (e instanceof HTMLInputElement) return e.checked;
    return e.getAttribute("aria-pressed") === "true";
  }

  loadInitial() {
    const out = this.control("output");
    let restored = false;
    if (out && out.value) {
      try {
        const data = JSON.parse(out.value);
        if (data && Array.isArray(data.marks)) {
          for (const m of data.marks) {
            if (m && this.byCell.has(m.cell) && m.intensity > 0) {
              const quality = m.quality || null;
              this.marks.set(m.cell, { intensity: Number(m.intensity), quality, qualityLabel: labelOf(this.control("quality"), quality) });
            }
          }
          restored = true;
        }
      } catch (err) {
        restored = false;
      }
    }
    if (!restored) {
      for (const [cell, els] of this.byCell) {
        const v = parseFloat(els[0].dataset.value || "0");
        if (v > 0) {
          const q = els[0].dataset.quality || null;
          this.marks.set(cell, { intensity: v, quality: q, qualityLabel: labelOf(this.control("quality"), q) });
        }
      }
    }
    for (const cell of this.byCell.keys()) this.paintShapes(cell);
  }

  paintShapes(cell) {
    const m = this.marks.get(cell);
    for (const el of this.byCell.get(cell) || []) {
      el.setAttribute("fill", m ? colourFor(m.intensity, this.max, this.stops, this.neutral) : this.neutral);
      el.dataset.value = m ? String(m.intensity) : "0";
      if (m && m.quality) el.dataset.quality = m.quality;
      else delete el.dataset.quality;
      el.setAttribute("aria-pressed", m ? "true" : "false");
      el.classList.toggle("bm-cell--marked", Boolean(m));
    }
  }

  apply(cell, action) {
    if (!this.byCell.has(cell)) return false;
    if (action === "erase") {
      if (!this.marks.has(cell)) return false;
      this.marks.delete(cell);
    } else {
      const cur = this.current();
      this.marks.set(cell, cur);
    }
    this.paintShapes(cell);
    this.sync();
    return true;
  }

  actionFor(cell) {
    if (this.erasing()) return "erase";
    const m = this.marks.get(cell);
    const cur = this.current();
    if (m && m.intensity === cur.intensity && (m.quality || null) === cur.quality) return "erase";
    return "paint";
  }

  drawing() {
    const marks = [];
    for (const cell of this.order) {
      const m = this.marks.get(cell);
      if (m) marks.push({ cell, intensity: m.intensity, quality: m.quality || null });
    }
    return { marks };
  }

  sync() {
    const data = this.drawing();
    const out = this.control("output");
    if (out) out.value = JSON.stringify(data);
    const sum = this.control("summary");
    if (sum) {
      const parts = data.marks.map((m) => {
        const mark = this.marks.get(m.cell);
        let s = `${lowerFirst(this.labels.get(m.cell))} ${m.intensity}/${this.max}`;
        if (m.quality) s += `, ${lowerFirst(mark.qualityLabel || m.quality)}`;
        return s;
      });
      sum.textContent = parts.length ? parts.join("; ") : sum.dataset.bodymapEmpty || "Nothing marked yet.";
    }
  }

  emit() {
    this.root.dispatchEvent(new CustomEvent("bodymap:change", { bubbles: true, detail: this.drawing() }));
  }

  // ---- highlight and tooltip
  highlight(cell, focus) {
    for (const g of this.root.querySelectorAll(".bm-hilite")) g.replaceChildren();
    if (!cell) return;
    for (const el of this.byCell.get(cell) || []) {
      const layer = el.ownerSVGElement && el.ownerSVGElement.querySelector(".bm-hilite");
      if (!layer) continue;
      const p = document.createElementNS(SVGNS, "path");
      p.setAttribute("d", el.getAttribute("d"));
      p.setAttribute("class", focus ? "bm-hilite-shape bm-hilite-shape--focus" : "bm-hilite-shape");
      layer.appendChild(p);
    }
  }

  tooltipText(el) {
    const cell = el.dataset.cell;
    let text = this.labels.get(cell) || cell;
    const m = this.marks.get(cell);
    const v = m ? m.intensity : parseFloat(el.dataset.value || "0");
    if (v > 0) text += ` · ${v}/${this.max}`;
    const q = m ? m.qualityLabel || m.quality : el.dataset.quality;
    if (q) text += ` · ${lowerFirst(q)}`;
    if (el.dataset.category) text += ` · ${el.dataset.category}`;
    return text;
  }

  showTooltip(el, x, y) {
    const box = this.root.getBoundingClientRect();
    this.tooltip.textContent = this.tooltipText(el);
    this.tooltip.style.left = `${x - box.left}px`;
    this.tooltip.style.top = `${y - box.top}px`;
    this.tooltip.hidden = false;
  }

  hideTooltip() {
    this.tooltip.hidden = true;
  }

  cellAt(x, y) {
    const el = document.elementFromPoint(x, y);
    const cell = el && el.closest ? el.closest(".bm-cell[data-cell]") : null;
    return cell && this.root.contains(cell) ? cell : null;
  }

  bindHover() {
    this.root.addEventListener("pointerover", (e) => {
      const el = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (!el || this.stroke) return;
      this.highlight(el.dataset.cell, false);
      this.showTooltip(el, e.clientX, e.clientY);
    });
    this.root.addEventListener("pointermove", (e) => {
      if (this.stroke || this.tooltip.hidden) return;
      const el = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (el) this.showTooltip(el, e.clientX, e.clientY);
    });
    this.root.addEventListener("pointerout", (e) => {
      const to = e.relatedTarget;
      if (to && to.closest && to.closest(".bm-cell[data-cell]") && this.root.contains(to)) return;
      if (!this.stroke) {
        this.highlight(null);
        this.hideTooltip();
      }
    });
    this.root.addEventListener("focusin", (e) => {
      const el = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (!el) return;
      this.highlight(el.dataset.cell, true);
      const r = el.getBoundingClientRect();
      this.showTooltip(el, r.left + r.width / 2, r.top);
    });
    this.root.addEventListener("focusout", () => {
      this.highlight(null);
      this.hideTooltip();
    });
  }

  bindInput() {
    this.root.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      const el = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (!el) return;
      e.preventDefault(); // no text selection / scrolling while painting
      const cell = el.dataset.cell;
      const action = this.actionFor(cell);
      this.stroke = { id: e.pointerId, action, last: cell, changed: this.apply(cell, action) };
      this.highlight(cell, false);
      this.hideTooltip();
    });
    this.root.addEventListener("pointermove", (e) => {
      const s = this.stroke;
      if (!s || e.pointerId !== s.id) return;
      const el = this.cellAt(e.clientX, e.clientY);
      if (!el || el.dataset.cell === s.last) return;
      s.last = el.dataset.cell;
      // a drag never toggles off: it paints (or erases) every cell it crosses
      if (s.action === "paint") s.changed = this.apply(s.last, "paint") || s.changed;
      else s.changed = this.apply(s.last, "erase") || s.changed;
      this.highlight(s.last, false);
    });
    const end = (e) => {
      const s = this.stroke;
      if (!s || e.pointerId !== s.id) return;
      this.stroke = null;
      if (s.changed) this.emit();
    };
    window.addEventListener("pointerup", end);
    window.addEventListener("pointercancel", end);
    this.root.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" && e.key !== " " && e.key !== "Spacebar") return;
      const el = e.target.closest && e.target.closest(".bm-cell[data-cell]");
      if (!el) return;
      e.preventDefault();
      if (this.apply(el.dataset.cell, this.actionFor(el.dataset.cell))) this.emit();
      this.showTooltip(el, el.getBoundingClientRect().left + el.getBoundingClientRect().width / 2, el.getBoundingClientRect().top);
    });
    const erase = this.control("erase");
    if (erase) {
      const update = () => this.root.classList.toggle("bm-erasing", this.erasing());
      if (erase instanceof HTMLButtonElement) {
        if (!erase.hasAttribute("aria-pressed")) erase.setAttribute("aria-pressed", "false");
        erase.addEventListener("click", (e) => {
          e.preventDefault();
          erase.setAttribute("aria-pressed", this.erasing() ? "false" : "true");
          update();
        });
      } else {
        erase.addEventListener("change", update);
      }
      update();
    }
    const clear = this.control("clear");
    if (clear) {
      clear.addEventListener("click", (e) => {
        e.preventDefault();
        if (!this.marks.size) return;
        const cells = Array.from(this.marks.keys());
        this.marks.clear();
        for (const c of cells) this.paintShapes(c);
        this.sync();
        this.emit();
      });
    }
  }
}

const instances = new WeakMap();

/** Initialise one map element (idempotent); returns its controller. */
export function initBodymap(el) {
  if (!instances.has(el)) instances.set(el, new BodyMap(el));
  return instances.get(el);
}

/** Initialise every map inside `root` (default: the document). */
export function initAll(root = document) {
  const found = [];
  if (root instanceof Element && root.matches("[data-bodymap]")) found.push(root);
  if (root.querySelectorAll) found.push(...root.querySelectorAll("[data-bodymap]"));
  return found.map(initBodymap);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => initAll());
} else {
  initAll();
}
document.addEventListener("htmx:load", (e) => initAll(e.target || document));
