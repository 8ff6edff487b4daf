// Directory search: city suggestions from the offline list, and "use my location".
// Without JavaScript the box still takes a typed city or postcode.

const form = document.querySelector("[data-dir-search]");
if (form) {
  const input = form.querySelector("#id_near");
  const list = document.getElementById("dir-places");
  const status = form.querySelector("[data-location-status]");
  let timer = null;
  let last = "";

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2 || q === last || /^-?\d/.test(q)) return;
    timer = setTimeout(async () => {
      last = q;
      try {
        const response = await fetch(`${input.dataset.placesUrl}?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const data = await response.json();
        list.replaceChildren(...data.places.map((p) => {
          const option = document.createElement("option");
          option.value = p.label;
          return option;
        }));
      } catch {
        // Offline or rate-limited: typing still works.
      }
    }, 150);
  });

  const locate = form.querySelector("[data-use-location]");
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", () => {
      status.textContent = "Finding your location…";
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          input.value = `${pos.coords.latitude.toFixed(4)},${pos.coords.longitude.toFixed(4)}`;
          status.textContent = "Using your location.";
          form.requestSubmit();
        },
        () => { status.textContent = "Your location is not available. Type a town or city instead."; },
        { timeout: 10000, maximumAge: 600000 },
      );
    });
  }
}
