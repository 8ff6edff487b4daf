// Small behaviours of the intake and summary pages (no inline handlers: the CSP forbids them).

// The intensity slider shows its number beside it.
function bindIntensity(root) {
  root.querySelectorAll("[data-bodymap-intensity]").forEach((input) => {
    const out = input.parentElement && input.parentElement.querySelector("[data-pd-intensity-value]");
    if (!out) return;
    const show = () => { out.textContent = input.value; };
    input.addEventListener("input", show);
    show();
  });
}

// <button data-print> prints the page (the summary has a print stylesheet).
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-print]");
  if (el) window.print();
});

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => bindIntensity(document));
else bindIntensity(document);
