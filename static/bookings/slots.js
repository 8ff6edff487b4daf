// Adds the visitor's own local time under each slot when it differs from the clinic's wall clock.
// The page itself always shows the clinic's time and names the clinic's zone.
const marker = document.querySelector("[data-clinic-zone]");
const clinicZone = marker ? marker.getAttribute("data-clinic-zone") : null;
const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function formatter(timeZone) {
  return new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
}

if (clinicZone && visitorZone && clinicZone !== visitorZone) {
  const atClinic = formatter(clinicZone);
  const atVisitor = formatter(visitorZone);
  let differs = false;
  document.querySelectorAll("[data-utc]").forEach((button) => {
    const when = new Date(button.getAttribute("data-utc"));
    if (Number.isNaN(when.getTime())) return;
    const mine = atVisitor.format(when);
    if (mine === atClinic.format(when)) return;
    differs = true;
    const span = document.createElement("span");
    span.className = "slot-local";
    span.textContent = `${mine} your time`;
    button.appendChild(span);
  });
  if (differs) {
    marker.hidden = false;
    marker.textContent = ` (your device is on ${visitorZone} time, shown under each slot)`;
  }
}
