/**
 * Signature pad (ES module, no dependencies, CSP-safe).
 *
 * Markup: [data-signature] containing <canvas data-signature-pad width=600 height=200>,
 * <input type=hidden data-signature-output>, <button data-signature-clear> and an optional
 * [data-signature-status]. Strokes are written to the hidden input as SVG path data with absolute
 * M/L commands and whole numbers in the canvas's own coordinates (the server accepts nothing else:
 * knotwork/clients/consent.py clean_signature). A signature kept in the input (a form shown again
 * after an error) is drawn back onto the pad.
 *
 * Without a pointer: <button data-signature-keyboard> writes the name typed in the form's
 * [autocomplete=name] field onto the pad as a handwritten-looking stroke, so a person who signs with
 * the keyboard (or a switch, or voice control) signs with the same deliberate act as everyone else.
 * The words shown are the template's (data-signed-text, data-name-first on the status element).
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
    if (status) status.textContent = parts.length ? status.dataset.signedText || "Signed." : "";
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
  const keyboard = root.querySelector("[data-signature-keyboard]");
  if (keyboard) {
    keyboard.addEventListener("click", () => {
      const form = root.closest("form");
      const nameField = form && form.querySelector('[autocomplete="name"]');
      const name = nameField ? nameField.value.trim() : "";
      if (!name) {
        if (status) status.textContent = status.dataset.nameFirst || "Type your full name first.";
        if (nameField) nameField.focus();
        return;
      }
      parts = [];
      redraw(nameStroke(name, canvas.width, canvas.height));
      sync();
    });
  }
  if (output.value) {
    redraw(output.value);
    sync();
  }
}

// A joined-up, slanted stroke with one loop per letter of the name: absolute M/L path data in
// whole numbers inside the pad, as the server requires. The same name always gives the same stroke.
function nameStroke(name, width, height) {
  const letters = Array.from(name.replace(/\s+/g, " ")).slice(0, 40);
  const step = Math.min(28, (width - 80) / Math.max(letters.length, 1));
  const base = Math.round(height * 0.62);
  const path = [];
  let x = 40;
  letters.forEach((ch, i) => {
    const code = ch.codePointAt(0) || 0;
    if (ch === " ") {
      x += step * 0.6;
      path.push(`M${Math.round(x)} ${base}`);
      return;
    }
    const tall = /[A-Zbdfhklt]/.test(ch) ? 0.55 : 0.3;
    const top = Math.round(base - height * tall + (code % 5));
    if (i === 0 || !path.length) path.push(`M${Math.round(x)} ${base}`);
    path.push(`L${Math.round(x + step * 0.35)} ${top}`);
    path.push(`L${Math.round(x + step * 0.55)} ${Math.round(top + (base - top) * 0.35)}`);
    path.push(`L${Math.round(x + step * 0.45)} ${base}`);
    path.push(`L${Math.round(x + step)} ${Math.round(base - height * 0.08)}`);
    x += step;
  });
  path.push(`L${Math.round(Math.min(x + 20, width - 10))} ${Math.round(base + height * 0.1)}`);
  return path.join(" ");
}

export function initAll(root = document) {
  root.querySelectorAll("[data-signature]").forEach(initPad);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => initAll());
else initAll();
