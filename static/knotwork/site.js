// Small behaviours every page shares. No inline handlers: the CSP forbids them.

// A <select data-autosubmit> submits its form on change (the clinic switcher); its button stays
// for keyboard and no-script users.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit();
  }
});

// Move focus to a form's error summary so screen-reader users hear what went wrong.
function focusErrors(root) {
  const summary = root.querySelector("[data-focus-on-load]");
  if (summary) summary.focus();
}
focusErrors(document);
document.addEventListener("htmx:afterSwap", (event) => focusErrors(event.target));

// <button data-confirm="…"> asks before a destructive action.
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// On a phone the top bar's menu folds behind a "Menu" button (CSS decides the width; without
// this script the menu simply stays open). Escape closes it and gives focus back to the button.
(() => {
  const bar = document.querySelector(".topbar");
  const toggle = bar && bar.querySelector(".menu-toggle");
  if (!toggle) return;
  bar.classList.add("collapsible");
  toggle.hidden = false;
  const setOpen = (open) => {
    bar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  bar.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bar.classList.contains("open")) {
      setOpen(false);
      toggle.focus();
    }
  });
})();

// A wide table scrolls sideways inside its .table-wrap on a small screen. Keyboard users must be
// able to reach that scroll too, so a wrap that actually overflows becomes a focusable, named
// region (its table's caption, else the nearest heading); one that fits stays out of the tab order.
function markScrollRegions(root) {
  root.querySelectorAll(".table-wrap").forEach((wrap) => {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    if (scrolls && !wrap.hasAttribute("tabindex")) {
      wrap.tabIndex = 0;
      wrap.dataset.scrollRegion = "";
      if (!wrap.hasAttribute("role")) wrap.setAttribute("role", "region");
      if (!wrap.hasAttribute("aria-label") && !wrap.hasAttribute("aria-labelledby")) {
        const caption = wrap.querySelector("caption");
        const section = wrap.closest("section, .card");
        const heading = section && section.querySelector("h2, h3");
        const name = (caption || heading || { textContent: "" }).textContent.trim();
        wrap.setAttribute("aria-label", name || document.title.split("·")[0].trim());
      }
    } else if (!scrolls && wrap.hasAttribute("data-scroll-region")) {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("data-scroll-region");
    }
  });
}
markScrollRegions(document);
window.addEventListener("resize", () => markScrollRegions(document));
document.addEventListener("htmx:afterSwap", (event) => markScrollRegions(event.target));
