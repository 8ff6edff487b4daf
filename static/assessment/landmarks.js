// Landmark placement on a posture photo.
//
// Markup contract (templates/assessment/landmarks.html):
//   [data-landmark-editor] data-width/-height = photo pixels, data-editable = "true"|"false"
//     svg[data-stage] with viewBox in photo pixels, containing g[data-lines] and g[data-points]
//     button[data-landmark=NAME]           selects the landmark to place or move
//     [data-landmark-item=NAME]            hidden when no ticked measure needs NAME
//     [data-landmark-pos=NAME]             shows the point's coordinates
//     input[data-measure][data-needs="a b"] ticks which measures to take
//     button[data-zoom=in|out|reset], [data-zoom-level], button[data-clear-landmark], [data-status]
//   #landmarks-data (json_script): {name: [x, y]} already saved
//   input[name=landmarks] in the save form receives {name: [x, y]} as JSON; the server validates
//   and computes every measure, so nothing here does clinical arithmetic.
//
// Coordinates are photo pixels (y down), whatever the zoom or screen size.

const SVG_NS = "http://www.w3.org/2000/svg";

function init(root) {
  const svg = root.querySelector("[data-stage]");
  const pointsLayer = svg.querySelector("[data-points]");
  const linesLayer = svg.querySelector("[data-lines]");
  const width = Number(root.dataset.width);
  const height = Number(root.dataset.height);
  const editable = root.dataset.editable === "true";
  const output = document.querySelector("input[name=landmarks]");
  const status = root.querySelector("[data-status]");
  const zoomLabel = root.querySelector("[data-zoom-level]");
  const dataNode = document.getElementById("landmarks-data");
  const points = new Map(Object.entries(dataNode ? JSON.parse(dataNode.textContent) : {}));
  let view = { x: 0, y: 0, w: width, h: height };
  let active = null;
  let dragging = null;

  const measureBoxes = [...root.querySelectorAll("[data-measure]")];
  const buttons = [...root.querySelectorAll("[data-landmark]")];

  function needed() {
    const names = new Set();
    for (const box of measureBoxes) {
      if (box.checked) box.dataset.needs.split(" ").forEach((n) => names.add(n));
    }
    // Calibration marks are always offered: they are optional and give distances in cm.
    names.add("calibration_a");
    names.add("calibration_b");
    return names;
  }

  function label(name) {
    const b = root.querySelector(`[data-landmark="${name}"]`);
    return b ? b.textContent.trim() : name;
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function select(name) {
    active = name;
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.landmark === name));
    say(points.has(name) ? `${label(name)} selected: arrow keys move it.` : `Click the photo to place ${label(name)}.`);
    render();
  }

  function nextUnplaced() {
    const need = needed();
    return buttons.map((b) => b.dataset.landmark).find((n) => need.has(n) && !points.has(n)) || null;
  }

  function toPhoto(event) {
    const pt = svg.createSVGPoint();
    pt.x = event.clientX;
    pt.y = event.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    return [clamp(p.x, 0, width), clamp(p.y, 0, height)];
  }

  function clamp(v, lo, hi) {
    return Math.min(hi, Math.max(lo, Math.round(v * 100) / 100));
  }

  function radius() {
    const shown = svg.getBoundingClientRect().width || width;
    return (7 * view.w) / shown;
  }

  function render() {
    const need = needed();
    for (const item of root.querySelectorAll("[data-landmark-item]")) {
      item.hidden = !need.has(item.dataset.landmarkItem) && !points.has(item.dataset.landmarkItem);
    }
    for (const pos of root.querySelectorAll("[data-landmark-pos]")) {
      const p = points.get(pos.dataset.landmarkPos);
      pos.textContent = p ? `(${Math.round(p[0])}, ${Math.round(p[1])})` : "not placed";
    }
    const r = radius();
    pointsLayer.replaceChildren();
    linesLayer.replaceChildren();
    for (const box of measureBoxes) {
      if (!box.checked) continue;
      const names = box.dataset.needs.split(" ");
      const pairs = names.length === 4 ? [[names[0], names[1]], [names[2], names[3]]] : names.slice(1).map((n, i) => [names[i], n]);
      for (const [a, b] of pairs) {
        if (!points.has(a) || !points.has(b)) continue;
        const line = document.createElementNS(SVG_NS, "line");
        const [x1, y1] = points.get(a);
        const [x2, y2] = points.get(b);
        line.setAttribute("x1", x1); line.setAttribute("y1", y1);
        line.setAttribute("x2", x2); line.setAttribute("y2", y2);
        line.setAttribute("stroke-width", r / 3);
        line.setAttribute("class", "lm-line");
        linesLayer.append(line);
      }
    }
    for (const [name, [x, y]] of points) {
      const c = document.createElementNS(SVG_NS, "circle");
      c.setAttribute("cx", x);
      c.setAttribute("cy", y);
      c.setAttribute("r", r);
      c.setAttribute("stroke-width", r / 3);
      c.setAttribute("class", name === active ? "lm-point lm-active" : "lm-point");
      c.dataset.point = name;
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = label(name);
      c.append(title);
      pointsLayer.append(c);
    }
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    if (zoomLabel) zoomLabel.textContent = `${Math.round((100 * width) / view.w)}%`;
    if (output) output.value = JSON.stringify(Object.fromEntries(points));
  }

  function place(name, xy) {
    points.set(name, xy);
    render();
  }

  function zoom(factor, centre) {
    const w = clamp(view.w / factor, width / 16, width);
    const h = (w * height) / width;
    const [cx, cy] = centre || (active && points.get(active)) || [view.x + view.w / 2, view.y + view.h / 2];
    view = { x: clamp(cx - w / 2, 0, width - w), y: clamp(cy - h / 2, 0, height - h), w, h };
    render();
  }

  for (const b of buttons) b.addEventListener("click", () => { select(b.dataset.landmark); svg.focus(); });
  for (const box of measureBoxes) box.addEventListener("change", render);
  root.querySelector("[data-clear-landmark]")?.addEventListener("click", () => {
    if (active && points.delete(active)) { say(`${label(active)} removed.`); render(); }
  });
  for (const z of root.querySelectorAll("[data-zoom]")) {
    z.addEventListener("click", () => {
      if (z.dataset.zoom === "reset") { view = { x: 0, y: 0, w: width, h: height }; render(); }
      else zoom(z.dataset.zoom === "in" ? 2 : 0.5);
    });
  }

  svg.addEventListener("pointerdown", (event) => {
    if (!editable) return;
    const target = event.target.closest("[data-point]");
    if (target) {
      select(target.dataset.point);
      dragging = target.dataset.point;
      svg.setPointerCapture(event.pointerId);
      event.preventDefault();
    }
  });
  svg.addEventListener("pointermove", (event) => {
    if (dragging) place(dragging, toPhoto(event));
  });
  svg.addEventListener("pointerup", (event) => {
    if (dragging) {
      place(dragging, toPhoto(event));
      say(`${label(dragging)} moved.`);
      dragging = null;
      return;
    }
    if (!editable || event.target.closest("[data-point]")) return;
    const name = active && !points.has(active) ? active : nextUnplaced() || active;
    if (!name) { say("Choose a landmark first."); return; }
    place(name, toPhoto(event));
    say(`${label(name)} placed.`);
    const next = nextUnplaced();
    select(next || name);
  });
  svg.addEventListener("wheel", (event) => {
    if (!event.ctrlKey && !event.altKey) return;
    event.preventDefault();
    zoom(event.deltaY < 0 ? 1.25 : 0.8, toPhoto(event));
  }, { passive: false });
  svg.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key === "+" || event.key === "=") { zoom(2); event.preventDefault(); return; }
    if (event.key === "-") { zoom(0.5); event.preventDefault(); return; }
    if (!editable || !active) return;
    if (event.key === "Enter" && !points.has(active)) {
      place(active, [clamp(view.x + view.w / 2, 0, width), clamp(view.y + view.h / 2, 0, height)]);
      say(`${label(active)} placed in the middle of the view.`);
      event.preventDefault();
      return;
    }
    const move = moves[event.key];
    if (move && points.has(active)) {
      const [x, y] = points.get(active);
      place(active, [clamp(x + move[0], 0, width), clamp(y + move[1], 0, height)]);
      event.preventDefault();
    }
  });

  if (editable) select(nextUnplaced() || buttons[0]?.dataset.landmark || null);
  render();
}

for (const root of document.querySelectorAll("[data-landmark-editor]")) init(root);
