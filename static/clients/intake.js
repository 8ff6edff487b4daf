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

// Follow-up grids ("If so, where?", 34 body areas) wait until the answer they follow calls for them.
// Without this script every follow-up is shown and the big grids sit in closed <details>
// (templates/clients/_question.html), so the step works and stays short without it.
// The revealing radio gets aria-controls (as in the GOV.UK "conditional reveal" pattern):
// aria-expanded is not allowed on a radio, and the follow-up comes next in reading order.
function bindFollowUps(root) {
  root.querySelectorAll("[data-followup-of]").forEach((box) => {
    const form = box.closest("form");
    if (!form) return;
    const when = box.dataset.followupWhen;
    const gate = [...form.querySelectorAll(`input[name="${CSS.escape(box.dataset.followupOf)}"]`)];
    if (!gate.length) return; // the question it follows is on another step: leave it shown
    gate.filter((input) => input.value === when).forEach((input) => input.setAttribute("aria-controls", box.id));
    const details = box.querySelector("[data-disclosure]");
    // Never hide an answer already given or an error to correct: the client must see what is sent.
    const keep = () => box.classList.contains("field-error") || box.querySelector("input:checked") !== null;
    const update = (byClient) => {
      const calledFor = gate.some((input) => input.checked && input.value === when);
      box.hidden = !calledFor && !keep();
      if (calledFor && byClient && details) details.open = true;
    };
    gate.forEach((input) => input.addEventListener("change", () => update(true)));
    update(false);
  });
}

// The words shown, in the page's language: templates/clients/_intake_strings.html renders them as
// data attributes of <meta name="knotwork-intake-text">; English on a page without it.
const ENGLISH = {
  chosenOne: "{count} chosen",
  chosenOther: "{count} chosen",
};

function words(name, count) {
  const meta = document.querySelector('meta[name="knotwork-intake-text"]');
  const text = (meta && meta.dataset[name]) || ENGLISH[name];
  return text.replace("{count}", String(count));
}

// "1 chosen" or "3 chosen": the page's language decides which counts take the singular form. The
// template renders the catalogue's forms for 1 and for 2; in English, Spanish and French these are
// the CLDR "one" and "other" forms Intl.PluralRules picks between.
function chosenText(count) {
  let form = count === 1 ? "one" : "other";
  try {
    form = new Intl.PluralRules(document.documentElement.lang || "en").select(count);
  } catch (error) {
    // An unknown language tag: keep the English rule.
  }
  return words(form === "one" ? "chosenOne" : "chosenOther", count);
}

// A folded grid says how many boxes are ticked, so a closed one still tells its answer.
function bindDisclosureCounts(root) {
  root.querySelectorAll("[data-disclosure]").forEach((details) => {
    const hint = details.querySelector("[data-disclosure-count]");
    if (!hint) return;
    const boxes = [...details.querySelectorAll('input[type="checkbox"]')];
    const empty = hint.dataset.empty || "";
    const show = () => {
      const n = boxes.filter((b) => b.checked).length;
      hint.textContent = n ? chosenText(n) : empty;
    };
    boxes.forEach((b) => b.addEventListener("change", show));
  });
}

// <button data-print> prints the page (the summary has a print stylesheet).
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-print]");
  if (el) window.print();
});

function bindAll(root) {
  bindIntensity(root);
  bindFollowUps(root);
  bindDisclosureCounts(root);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => bindAll(document));
else bindAll(document);
