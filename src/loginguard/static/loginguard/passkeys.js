// Passkeys (WebAuthn) for loginguard's pages: one static script, no inline code, so it runs
// under the strict Content-Security-Policy. Every page works without it; the passkey
// buttons (elements with data-passkey-area) stay hidden until this script shows them.
//
// A button with data-passkey="sign-in" | "second-step" | "unlock" | "recover" | "register"
// POSTs to its data-options-url for the ceremony's options, runs the browser's WebAuthn
// prompt, and POSTs the answer as JSON to its data-submit-url; the server answers where to
// go next ({"ok": true, "redirect": ...}) or what went wrong ({"ok": false, "error": ...}).
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function fromB64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var raw = atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeOptions(options) {
    options.challenge = fromB64url(options.challenge);
    if (options.user) options.user.id = fromB64url(options.user.id);
    ["excludeCredentials", "allowCredentials"].forEach(function (name) {
      (options[name] || []).forEach(function (item) { item.id = fromB64url(item.id); });
    });
    return options;
  }

  function encodeCredential(credential) {
    var response = credential.response, out = {};
    ["clientDataJSON", "attestationObject", "authenticatorData", "signature",
     "userHandle"].forEach(function (name) {
      if (response[name]) out[name] = toB64url(response[name]);
    });
    if (response.getTransports) out.transports = response.getTransports();
    return {
      id: credential.id, rawId: toB64url(credential.rawId), type: credential.type,
      response: out, authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ?
        credential.getClientExtensionResults() : {}
    };
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () {
        return {ok: false, error: "The server did not answer. Try again in a moment."};
      });
    });
  }

  function showError(button, message) {
    var area = button.closest("[data-passkey-area]") || document;
    var box = area.querySelector("[data-passkey-error]");
    if (!box) { window.alert(message); return; }
    box.textContent = message;
    box.hidden = false;
  }

  // Where the server said to go; a page that differs only in its #fragment is reloaded
  // (assigning it would only scroll, and the new state and message would not show).
  function go(url) {
    var target = new URL(url, window.location.href);
    if (target.pathname === window.location.pathname &&
        target.search === window.location.search) {
      window.location.hash = target.hash;
      window.location.reload();
    } else {
      window.location.assign(target.href);
    }
  }

  var conditional = null;  // the browser's autofill request on the sign-in page, if any

  function ceremony(button, mediation) {
    var kind = button.getAttribute("data-passkey");
    var register = kind === "register";
    var extra = {};
    if (register) {
      var nameInput = document.getElementById(button.getAttribute("data-name-input"));
      extra.name = nameInput ? nameInput.value : "";
      if (nameInput && !extra.name.trim()) {
        showError(button, "Give the passkey a name first, e.g. \u201cPhone\u201d.");
        nameInput.focus();
        return Promise.resolve();
      }
    }
    if (!mediation && conditional) { conditional.abort(); conditional = null; }
    return post(button.getAttribute("data-options-url")).then(function (answer) {
      if (!answer.ok) throw new Error(answer.error || "Passkeys are not available now.");
      var options = decodeOptions(answer.publicKey);
      if (register) return navigator.credentials.create({publicKey: options});
      var request = {publicKey: options};
      if (mediation) {
        conditional = new AbortController();
        request.mediation = "conditional";
        request.signal = conditional.signal;
      }
      return navigator.credentials.get(request);
    }).then(function (credential) {
      if (!credential) return null;
      extra.credential = encodeCredential(credential);
      return post(button.getAttribute("data-submit-url"), extra);
    }).then(function (answer) {
      if (!answer) return;
      if (answer.redirect) { go(answer.redirect); return; }
      throw new Error(answer.error || "That passkey did not work. Try again.");
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;  // the autofill gave way
      if (error && error.name === "NotAllowedError") {
        showError(button, "The passkey prompt was closed or timed out. Try again.");
      } else if (error && error.name === "InvalidStateError") {
        showError(button, "This device already holds a passkey for your account.");
      } else {
        showError(button, (error && error.message) || "That passkey did not work.");
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-passkey]");
    if (!button) return;
    event.preventDefault();
    ceremony(button, false);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-passkey-area]").forEach(function (area) {
      area.hidden = false;
    });
    // The browser's autofill offers passkeys in the username field where it can.
    var signIn = document.querySelector("[data-passkey=sign-in]");
    var username = document.querySelector("input[name=username]");
    if (!signIn || !username || !PublicKeyCredential.isConditionalMediationAvailable) return;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) return;
      username.setAttribute("autocomplete", "username webauthn");
      ceremony(signIn, true);
    });
  });
})();
