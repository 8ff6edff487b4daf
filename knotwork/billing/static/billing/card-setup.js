// The card form of the portal's "My saved card" page. Stripe's card element (an iframe served by
// js.stripe.com) takes the card, so card numbers never reach Knotwork; this mounts it, confirms the
// set-up intent whose client secret the page carries, and then goes to the return page, which asks
// Stripe (not the browser) whether the card was saved.
const form = document.getElementById("card-setup");

if (form && window.Stripe) {
  const stripe = window.Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = form.querySelector("button[type=submit]");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    const { error } = await stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card } });
    if (error) {
      errors.textContent = error.message || "The card was not saved.";
      errors.hidden = false;
      button.disabled = false;
      return;
    }
    const next = new URL(form.dataset.returnUrl);
    next.searchParams.set("setup_intent", form.dataset.setupId);
    window.location.assign(next.toString());
  });
} else if (form) {
  const errors = document.getElementById("card-errors");
  errors.textContent = "The card form could not be loaded. Check your connection and reload the page.";
  errors.hidden = false;
}
