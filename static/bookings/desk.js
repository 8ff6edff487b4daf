// The desk's booking page (templates/bookings/new.html). Without this script every panel button
// submits the booking form and the page comes back with that step done; with it:
// - a free time fills the date and start time in place (nothing is booked until "Book");
// - Enter in the new-client fields adds the client instead of booking;
// - focus follows the panels htmx replaces, so keyboard users are not dropped at the top.

const status = document.getElementById("desk-slots-status");

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.slot-time[data-day][data-at]");
  if (!button) return;
  const day = document.getElementById("id_day");
  const at = document.getElementById("id_at");
  if (!day || !at) return;
  event.preventDefault();
  day.value = button.dataset.day;
  at.value = button.dataset.at;
  document.querySelectorAll("button.slot-time[aria-pressed]").forEach((other) => {
    other.setAttribute("aria-pressed", String(other === button));
  });
  if (status) status.textContent = `${button.getAttribute("aria-label")} chosen. Press Book to book it.`;
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.target instanceof HTMLInputElement)) return;
  const panel = event.target.closest("[data-client-new]");
  const add = panel && panel.querySelector("[data-client-add]");
  if (add) {
    event.preventDefault();
    add.click();
  }
});

// The new-client panel's focus is set as soon as htmx has put the panel in (afterSwap, the same
// task), so it can never move after someone has started typing; htmx responses carry no autofocus.
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!(target instanceof HTMLElement) || target.id !== "client-new") return;
  const panel = target.querySelector("[data-client-new]");
  if (panel) {
    const first = panel.querySelector(".client-match button") || panel.querySelector("[aria-invalid=true]") || panel.querySelector("input:not([type=hidden])");
    if (first) first.focus();
  } else if (target.querySelector("[data-client-created]")) {
    const chosen = document.querySelector("#client-results input[name=client]:checked");
    if (chosen) chosen.focus();
  } else {
    const open = target.querySelector("[data-client-open]");
    if (open) open.focus();
  }
});

document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (!(target instanceof HTMLElement) || target.id !== "desk-slots-panel") return;
  const from = event.detail.requestConfig && event.detail.requestConfig.elt;
  const nav = from instanceof HTMLElement ? from.dataset.nav : null;
  if (nav) {
    const again = target.querySelector(`[data-nav="${nav}"]`) || target.querySelector("[data-nav]");
    if (again) again.focus();
  }
});
