// Self-check page: show the intensity slider's value beside it. Painting itself is static/atlas/bodymap.js.
for (const range of document.querySelectorAll("[data-bodymap-intensity]")) {
  const out = range.closest("[data-bodymap-scope]")?.querySelector("[data-intensity-value]");
  if (out) range.addEventListener("input", () => { out.textContent = range.value; });
}
