// allauth's WebAuthn helpers only log a failed ceremony to the console. Say it on the page
// instead, in the live region next to the passkey button, so the person knows to try again.
(function () {
  const messages = {
    NotAllowedError: 'The passkey request was cancelled or timed out. Try again.',
    InvalidStateError: 'This passkey is already registered to your account.',
    SecurityError: 'Passkeys only work over https (or on localhost). Ask your administrator.',
    NotSupportedError: 'This browser or device cannot use passkeys.'
  }
  document.addEventListener('allauth.error', function (event) {
    const status = document.querySelector('[data-passkey-status]')
    if (!status) return
    event.preventDefault()
    const name = event.detail && event.detail.exception && event.detail.exception.name
    // The live region stays empty (and unstyled) until there is something to say.
    status.className = 'message message-error'
    status.textContent = messages[name] || 'The passkey could not be used. Try again, or use another way to sign in.'
  })
})()
