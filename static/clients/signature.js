/**
 * Signature pad (ES module, no dependencies, CSP-safe).
 *
 * Markup: [data-signature] containing <canvas data-signature-pad width=600 height=200>,
 * <input type=hidden data-signature-output>, <button data-signature-clear> and an optional
 * [data-signature-status]. Strokes are written to the hidden input as SVG path data with absolute
 * M/L commands and whole numbers in the canvas's own coordinates (the server accepts nothing else:
 * knotwork/clients/consent.py clean_signature). A signature kept in the input (a form shown again
 * after an error) is drawn back onto the pad.
 */

const TOKEN = /([ML])\s*(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)/g;

function initPad(root) {
  const canvas = root.querySelector("[data-signature-pad]");
  const output = root.querySelector("[data-signature-output]");
  const clear = root.querySelector("[data-signature-clear]");
  const status = root.querySelector("[data-signature-status]");
  if (!canvas || !output || canvas.dataset.ready) return;
  canvas.dataset.ready = "1";
  const ctx = canvas.getContext("2d");
  let parts = [];
  let last = null;
  let drawing = false;

  function style() {
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#1b2428";
  }

  function point(event) {
    const r = canvas.getBoundingClientRect();
    const x = Math.round(((event.clientX - r.left) / r.width) * canvas.width);
    const y = Math.round(((event.clientY - r.top) / r.height) * canvas.height);
    return [Math.min(Math.max(x, 0), canvas.width), Math.min(Math.max(y, 0), canvas.height)];
  }

  function sync() {
    output.value = parts.join(" ");
    if (status) status.textContent = parts.length ? "Signed." : "";
  }

  function redraw(path) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    style();
    ctx.beginPath();
    for (const m of path.matchAll(TOKEN)) {
      const [x, y] = [Number(m[2]), Number(m[3])];
      if (m[1] === "M") ctx.moveTo(x, y); else ctx.lineTo(x, y);
      parts.push(`${m[1]}${Math.round(x)} ${Math.round(y)}`);
    }
    ctx.stroke();
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    parts.push(`M${last[0]} ${last[1]}`);
    style();
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const p = point(event);
    if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 2) return;
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    parts.push(`L${p[0]} ${p[1]}`);
    last = p;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    // A tap with no movement still leaves a visible dot and a valid segment.
    if (parts.length && parts[parts.length - 1].startsWith("M")) parts.push(`L${last[0] + 1} ${last[1]}`);
    sync();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", end);
  if (clear) {
    clear.addEventListener("click", () => {
      parts = [];
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      sync();
    });
  }
  if (output.value) {
    redraw(output.value);
    sync();
  }
}

export function initAll(root = document) {
  root.querySelectorAll("[data-signature]").forEach(initPad);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => initAll());
else initAll();
