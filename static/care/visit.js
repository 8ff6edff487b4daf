// Visit screen: narrow the trigger-point list of the technique form to the chosen muscle.
const form = document.getElementById("technique-form");
if (form) {
  const muscle = form.querySelector("select[name=muscle]");
  const point = form.querySelector("select[name=trigger_point]");
  const filter = () => {
    const name = muscle.selectedOptions[0]?.textContent ?? "";
    for (const group of point.querySelectorAll("optgroup")) {
      group.hidden = Boolean(muscle.value) && group.label !== name;
    }
    const chosen = point.selectedOptions[0];
    if (chosen && chosen.parentElement.hidden) point.value = "";
  };
  muscle?.addEventListener("change", filter);
  if (muscle && point) filter();
}
