// The desk's calendar: drag an appointment to another time or therapist, or drag its lower edge to
// change its length. Every drop posts the same fields as the "Move" form (day, at, therapist,
// duration) to the same address, so the server's move rules and database guards decide. A refusal
// puts the appointment back and shows the reason with the nearest free times; a success reloads
// the grid. Without this script every appointment still opens its Move form.

const ROW_MINUTES = 5;
const START_SNAP = 15;
const LENGTH_SNAP = 5;
const MAX_MINUTES = 480;
const THRESHOLD = 5; // pixels before a press becomes a drag, so a click still opens the form

let drag = null;
let sending = false;
let swallowClick = false;

const grid = () => document.getElementById("cal-grid");
const feedback = () => document.getElementById("cal-feedback");

function csrfToken() {
  const input = document.querySelector("#cal-csrf input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function hhmm(minutes) {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

function toMinutes(text) {
  const [h, m] = text.split(":").map(Number);
  return h * 60 + m;
}

function snap(value, step) {
  return Math.round(value / step) * step;
}

function rowPixels(column) {
  const rows = column.querySelector(".cal-bg");
  const count = Number((rows.className.match(/cal-h(\d+)/) || [])[1] || 1);
  return rows.getBoundingClientRect().height / count;
}

function columnAt(x, y) {
  const hit = document.elementFromPoint(x, y);
  return hit ? hit.closest("#cal-grid .cal-col") : null;
}

function nameOf(column) {
  const group = column.closest(".cal-daygroup");
  const index = [...group.querySelectorAll(".cal-col")].indexOf(column);
  const name = group.querySelectorAll(".cal-name")[index];
  return name ? name.getAttribute("title") || name.textContent.trim() : "";
}

function setTimeLabel(appt, start, minutes) {
  const label = appt.querySelector(".cal-appt-time");
  if (label) label.textContent = `${hhmm(start)}–${hhmm(start + minutes)}`;
}

function reset(appt) {
  appt.classList.remove("cal-dragging");
  appt.style.transform = "";
  appt.style.height = "";
  appt.style.alignSelf = "";
  setTimeLabel(appt, toMinutes(appt.dataset.start), Number(appt.dataset.minutes));
  document.querySelectorAll(".cal-drop").forEach((c) => c.classList.remove("cal-drop"));
}

function say(message, kind, extra) {
  const box = feedback();
  if (!box) return;
  box.replaceChildren();
  box.className = `cal-feedback ${kind === "ok" ? "is-ok" : "is-error"}`;
  const p = document.createElement("p");
  p.textContent = message;
  box.appendChild(p);
  if (extra) box.appendChild(extra);
  box.scrollIntoView({ block: "nearest" });
}

function alternativesFor(appt, fields, alternatives) {
  const wrap = document.createElement("div");
  if (alternatives.length) {
    const lead = document.createElement("p");
    lead.textContent = "Nearest free times:";
    wrap.appendChild(lead);
    const list = document.createElement("ul");
    list.className = "cal-alternatives";
    for (const alt of alternatives) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small";
      button.textContent = alt.label;
      button.setAttribute("aria-label", `Move to ${alt.label}`);
      button.addEventListener("click", () => send(appt, { ...fields, day: alt.day, at: alt.at }));
      item.appendChild(button);
      list.appendChild(item);
    }
    wrap.appendChild(list);
  }
  const more = document.createElement("p");
  const link = document.createElement("a");
  link.href = appt.getAttribute("href");
  link.textContent = "Open the move form";
  more.append(link, " (other times, another therapist, or an override with a reason).");
  wrap.appendChild(more);
  return wrap;
}

async function refresh() {
  const current = grid();
  if (!current) return;
  const box = current.querySelector(".cal-scroll");
  const [left, top] = box ? [box.scrollLeft, box.scrollTop] : [0, 0];
  const response = await fetch(current.dataset.refresh, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
  if (!response.ok) {
    window.location.reload();
    return;
  }
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  const fresh = template.content.getElementById("cal-grid");
  if (!fresh) {
    window.location.reload();
    return;
  }
  current.replaceWith(fresh);
  const newBox = fresh.querySelector(".cal-scroll");
  if (newBox) newBox.scrollTo(left, top);
}

async function send(appt, fields) {
  if (sending) return;
  sending = true;
  grid()?.classList.add("cal-busy");
  const body = new FormData();
  for (const [key, value] of Object.entries(fields)) body.append(key, value);
  let data = null;
  let ok = false;
  try {
    const response = await fetch(appt.dataset.move, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    data = await response.json().catch(() => null);
    ok = response.ok && data && data.ok;
  } catch {
    data = { message: "The server could not be reached. Nothing has changed." };
  }
  sending = false;
  grid()?.classList.remove("cal-busy");
  if (ok) {
    await refresh();
    say(data.message, "ok");
    return;
  }
  if (appt.isConnected) reset(appt);
  const message = (data && data.message) || "The move was refused. Nothing has changed.";
  say(message, "error", alternativesFor(appt, fields, (data && data.alternatives) || []));
}

function begin(event) {
  if (event.button !== 0 || sending) return;
  const appt = event.target.closest("#cal-grid[data-movable] a.cal-appt[data-move]");
  if (!appt) return;
  const column = appt.closest(".cal-col");
  const box = appt.getBoundingClientRect();
  drag = {
    appt,
    column,
    target: column,
    resize: event.target.closest(".cal-resize") !== null,
    x: event.clientX,
    y: event.clientY,
    grabOffset: event.clientY - box.top,
    rowPx: rowPixels(column),
    firstHour: Number(grid().dataset.firstHour),
    start: toMinutes(appt.dataset.start),
    minutes: Number(appt.dataset.minutes),
    newStart: toMinutes(appt.dataset.start),
    newMinutes: Number(appt.dataset.minutes),
    moved: false,
    pointerId: event.pointerId,
  };
}

function autoScroll(x, y) {
  const box = grid()?.querySelector(".cal-scroll");
  if (!box) return;
  const r = box.getBoundingClientRect();
  const edge = 36;
  if (x > r.right - edge) box.scrollLeft += 12;
  else if (x < r.left + edge + 48) box.scrollLeft -= 12;
  if (y > r.bottom - edge) box.scrollTop += 12;
  else if (y < r.top + edge + 40) box.scrollTop -= 12;
}

function follow(event) {
  if (!drag || event.pointerId !== drag.pointerId) return;
  const dx = event.clientX - drag.x;
  const dy = event.clientY - drag.y;
  if (!drag.moved) {
    if (Math.hypot(dx, dy) < THRESHOLD) return;
    drag.moved = true;
    drag.appt.classList.add("cal-dragging");
    drag.appt.setPointerCapture?.(event.pointerId);
  }
  event.preventDefault();
  autoScroll(event.clientX, event.clientY);
  if (drag.resize) {
    const wanted = drag.minutes + (dy / drag.rowPx) * ROW_MINUTES;
    drag.newMinutes = Math.min(MAX_MINUTES, Math.max(LENGTH_SNAP, snap(wanted, LENGTH_SNAP)));
    drag.appt.style.alignSelf = "start";
    drag.appt.style.height = `${(drag.newMinutes / ROW_MINUTES) * drag.rowPx - 2}px`;
    setTimeLabel(drag.appt, drag.start, drag.newMinutes);
    return;
  }
  drag.appt.style.transform = `translate(${dx}px, ${dy}px)`;
  const over = columnAt(event.clientX, event.clientY);
  const roomView = !drag.column.dataset.therapist;
  if (over && (!roomView || !over.dataset.therapist)) {
    drag.target = over;
    document.querySelectorAll(".cal-drop").forEach((c) => c !== over && c.classList.remove("cal-drop"));
    over.classList.add("cal-drop");
    const top = over.querySelector(".cal-bg").getBoundingClientRect().top;
    const minutes = drag.firstHour * 60 + ((event.clientY - drag.grabOffset - top) / drag.rowPx) * ROW_MINUTES;
    drag.newStart = Math.max(0, Math.min(1440 - START_SNAP, snap(minutes, START_SNAP)));
    setTimeLabel(drag.appt, drag.newStart, drag.minutes);
  }
}

function finish(event) {
  if (!drag || event.pointerId !== drag.pointerId) return;
  const current = drag;
  drag = null;
  if (!current.moved) return;
  swallowClick = true;
  const appt = current.appt;
  const therapist = current.target.dataset.therapist || appt.dataset.therapist;
  const fields = {
    day: current.target.dataset.day || appt.dataset.day,
    at: hhmm(current.resize ? current.start : current.newStart),
    therapist,
    duration: String(current.resize ? current.newMinutes : current.minutes),
  };
  const unchanged =
    fields.day === appt.dataset.day &&
    fields.at === appt.dataset.start &&
    therapist === appt.dataset.therapist &&
    fields.duration === appt.dataset.minutes;
  if (unchanged) {
    reset(appt);
    return;
  }
  const who = therapist !== appt.dataset.therapist ? ` with ${nameOf(current.target)}` : "";
  say(`Moving to ${fields.at}${who}…`, "ok");
  send(appt, fields);
}

function cancel() {
  if (!drag) return;
  if (drag.moved) reset(drag.appt);
  drag = null;
}

document.addEventListener("pointerdown", begin);
document.addEventListener("pointermove", follow, { passive: false });
document.addEventListener("pointerup", finish);
document.addEventListener("pointercancel", cancel);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && drag) {
    cancel();
    say("Move cancelled. Nothing has changed.", "ok");
  }
});
// A press that became a drag must not also follow the appointment's link.
document.addEventListener(
  "click",
  (event) => {
    if (swallowClick && event.target.closest("a.cal-appt")) {
      event.preventDefault();
      event.stopPropagation();
    }
    swallowClick = false;
  },
  true,
);
// Native link dragging would fight the pointer handling.
document.addEventListener("dragstart", (event) => {
  if (event.target.closest?.("#cal-grid a.cal-appt")) event.preventDefault();
});
