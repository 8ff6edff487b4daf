// The card form of the portal's pay page. Stripe's Payment Element (an iframe served by
// js.stripe.com) takes the card, so card numbers never reach Knotwork; this only mounts it and
// confirms the payment intent whose client secret the page carries.
const form = document.getElementById("card-pay");

if (form && window.Stripe) {
  const stripe = window.Stripe(form.dataset.publishableKey);
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = form.querySelector("button[type=submit]");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    // On success (or a bank's 3-D Secure check) Stripe.js leaves for the return page itself;
    // it only comes back here when the card was refused or mistyped.
    const { error } = await stripe.confirmPayment({ elements, confirmParams: { return_url: form.dataset.returnUrl } });
    if (error) {
      errors.textContent = error.message || "The payment did not go through.";
      errors.hidden = false;
      button.disabled = false;
    }
  });
} else if (form) {
  const errors = document.getElementById("card-errors");
  errors.textContent = "The card form could not be loaded. Check your connection and reload the page.";
  errors.hidden = false;
}
