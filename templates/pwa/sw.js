{% autoescape off %}/* Knotwork's service worker (version {{ version }}).
 * Offline, it serves the last copy of the client's home program and aftercare pages it saw, and
 * the site's own static files; every other page goes to the network and is never stored on the
 * device. Sign-in and sign-out clear everything it stored (Clear-Site-Data). */
"use strict";

const VERSION = "{{ version }}";
const CACHE = "knotwork-" + VERSION;
const PRECACHE = {{ precache_json|default:"[]" }};
const OFFLINE_URL = "{{ offline_url }}";
const OFFLINE_PAGES = [/^\/portal\/program\/\d+\/$/, /^\/portal\/program\/aftercare\/\d+\/$/];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([...PRECACHE, OFFLINE_URL])).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("knotwork-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

function keepsOffline(url) {
  return OFFLINE_PAGES.some((pattern) => pattern.test(url.pathname));
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(request.url, response.clone());
    }
    return response;
  } catch (error) {
    const copy = await cache.match(request.url);
    return copy || (await cache.match(OFFLINE_URL)) || Response.error();
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const copy = await cache.match(request);
  if (copy) return copy;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function pageOrOffline(request) {
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && keepsOffline(url)) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.startsWith("{{ static_prefix }}")) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(pageOrOffline(request));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  const title = data.title || "Knotwork";
  const options = { body: data.body || "", tag: data.tag || "knotwork", data: { url: data.url || "/" }, icon: PRECACHE.find((u) => u.endsWith(".png")) };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).pathname === target.pathname);
      return open ? open.focus() : self.clients.openWindow(target.href);
    })
  );
});
{% endautoescape %}
