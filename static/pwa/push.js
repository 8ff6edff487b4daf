// "Turn on notifications on this device": asks the browser for permission, subscribes through
// the site's service worker with the server's public (VAPID) key and hands the subscription to
// the server. "Turn off" unsubscribes this browser and tells the server to forget it.
function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function csrfToken() {
  const field = document.querySelector('input[name="csrfmiddlewaretoken"]');
  return field ? field.value : "";
}

async function post(url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
}

function init() {
  const box = document.getElementById("push-device");
  if (!box) return;
  const status = box.querySelector("[data-push-status]");
  const on = box.querySelector("[data-push-on]");
  const off = box.querySelector("[data-push-off]");
  const show = (text, subscribed) => {
    status.textContent = text;
    on.hidden = subscribed;
    off.hidden = !subscribed;
  };
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    show(box.dataset.textUnsupported, false);
    on.hidden = true;
    return;
  }
  navigator.serviceWorker.register(box.dataset.worker, { scope: "/" }).then(async (registration) => {
    const current = await registration.pushManager.getSubscription();
    show(current ? box.dataset.textOn : box.dataset.textOff, Boolean(current));
    on.addEventListener("click", async () => {
      try {
        const permission = await Notification.requestPermission();
        if (permission !== "granted") {
          show(box.dataset.textBlocked, false);
          return;
        }
        const ready = await navigator.serviceWorker.ready;
        const subscription = await ready.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key) });
        const response = await post(box.dataset.subscribe, subscription.toJSON());
        if (!response.ok) throw new Error(String(response.status));
        show(box.dataset.textOn, true);
      } catch (error) {
        show(box.dataset.textFailed, false);
      }
    });
    off.addEventListener("click", async () => {
      const ready = await navigator.serviceWorker.ready;
      const subscription = await ready.pushManager.getSubscription();
      if (subscription) {
        await post(box.dataset.unsubscribe, { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      }
      show(box.dataset.textOff, false);
    });
  }).catch(() => show(box.dataset.textFailed, false));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
