// The portal's offline helper: registers the service worker, and lets forms marked
// data-offline-queue (the home program's "I did it today") be saved while the phone is offline.
// A form saved offline is kept in this browser's storage and sent when the connection returns;
// the server records one entry per exercise and day, so sending it twice changes nothing.
const QUEUE_KEY = "knotwork-offline-queue";

// The words shown, in the page's language: templates/pwa/_offline_strings.html renders them as
// data attributes of <meta name="knotwork-offline-text">; English when a page does not have it.
const ENGLISH = {
  queuedOne: "1 entry is saved on this device and will be sent when you are back online.",
  queuedMany: "{count} entries are saved on this device and will be sent when you are back online.",
  refusedOne: "1 saved entry could not be sent. Please sign in and enter it again.",
  refusedMany: "{count} saved entries could not be sent. Please sign in and enter them again.",
  offline: "You are offline. Your exercises are still here; what you tick is saved on this device.",
};

function words(name, count) {
  const meta = document.querySelector('meta[name="knotwork-offline-text"]');
  const text = (meta && meta.dataset[name]) || ENGLISH[name];
  return text.replace("{count}", String(count));
}

function readQueue() {
  try {
    const items = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
    return Array.isArray(items) ? items : [];
  } catch (error) {
    return [];
  }
}

function writeQueue(items) {
  if (items.length) localStorage.setItem(QUEUE_KEY, JSON.stringify(items));
  else localStorage.removeItem(QUEUE_KEY);
}

function say(text) {
  const box = document.getElementById("offline-status");
  if (!box) return;
  box.textContent = text;
  box.hidden = !text;
}

function describeQueue() {
  const waiting = readQueue().length;
  if (!waiting) return "";
  return waiting === 1 ? words("queuedOne", 1) : words("queuedMany", waiting);
}

function queueForm(form) {
  const fields = {};
  new FormData(form).forEach((value, name) => { fields[name] = String(value); });
  const key = `${form.action}|${fields.item || ""}|${fields.day || ""}`;
  // A later save of the same exercise and day replaces the earlier one.
  const items = readQueue().filter((entry) => entry.key !== key);
  items.push({ key, action: form.action, fields, savedAt: new Date().toISOString() });
  writeQueue(items);
  const card = form.closest("section");
  if (card) card.classList.add("offline-pending");
  say(describeQueue());
}

async function flushQueue() {
  const items = readQueue();
  if (!items.length || !navigator.onLine) return;
  const left = [];
  let sent = 0;
  let refused = 0;
  for (const entry of items) {
    const body = new FormData();
    Object.entries(entry.fields).forEach(([name, value]) => body.append(name, value));
    try {
      const response = await fetch(entry.action, { method: "POST", body, credentials: "same-origin" });
      if (response.ok) sent += 1;
      else if (response.status >= 500) left.push(entry);
      else refused += 1; // refused for good (signed out, or no longer valid): keeping it would retry forever
    } catch (error) {
      left.push(entry);
    }
  }
  writeQueue(left);
  if (refused) {
    say(refused === 1 ? words("refusedOne", 1) : words("refusedMany", refused));
  } else if (sent && !left.length) {
    window.location.reload();
  } else {
    say(describeQueue());
  }
}

function init() {
  const worker = document.querySelector('meta[name="knotwork-service-worker"]');
  if ("serviceWorker" in navigator && worker) {
    navigator.serviceWorker.register(worker.content, { scope: "/" }).catch(() => {});
  }
  document.querySelectorAll("form[data-offline-queue]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!navigator.onLine) {
        queueForm(form);
        return;
      }
      let response;
      try {
        response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      } catch (error) {
        queueForm(form); // the phone thinks it is online but nothing gets through
        return;
      }
      if (response.ok) window.location.assign(response.url);
      else form.submit(); // let the server's page show what was wrong
    });
  });
  window.addEventListener("online", flushQueue);
  window.addEventListener("offline", () => say(describeQueue() || words("offline", 0)));
  say(describeQueue());
  flushQueue();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
