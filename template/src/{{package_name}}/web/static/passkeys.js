// Passkeys: the pages' one script (their CSP allows scripts of this service only, none inline).
// A form marked data-passkey-form, hidden until WebAuthn is known to be there, holds a button whose
// data-options and data-finish name the two requests of a ceremony: the options are fetched, the
// browser asks the authenticator (data-ceremony "create" registers, else "get"), its answer is
// posted, and the browser goes where the service says. Each request carries the form's fields as
// JSON and its CSRF token in a header.
"use strict";

(function () {
  if (!window.PublicKeyCredential || !window.fetch) {
    return;
  }

  function bytesOf(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, (character) => character.charCodeAt(0)).buffer;
  }

  function textOf(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((byte) => {
      raw += String.fromCharCode(byte);
    });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(descriptors) {
    return (descriptors || []).map((descriptor) => ({ ...descriptor, id: bytesOf(descriptor.id) }));
  }

  async function create(options) {
    const credential = await navigator.credentials.create({
      publicKey: {
        ...options,
        challenge: bytesOf(options.challenge),
        user: { ...options.user, id: bytesOf(options.user.id) },
        excludeCredentials: withIds(options.excludeCredentials),
      },
    });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: textOf(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: textOf(response.clientDataJSON),
        attestationObject: textOf(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    };
  }

  async function get(options) {
    const credential = await navigator.credentials.get({
      publicKey: {
        ...options,
        challenge: bytesOf(options.challenge),
        allowCredentials: withIds(options.allowCredentials),
      },
    });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: textOf(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: textOf(response.clientDataJSON),
        authenticatorData: textOf(response.authenticatorData),
        signature: textOf(response.signature),
        userHandle: response.userHandle ? textOf(response.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    };
  }

  async function post(url, fields, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": fields.csrf_token || "" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      throw new Error(answer.error || "Something went wrong; try again.");
    }
    return answer;
  }

  async function run(button, status) {
    const fields = {};
    new FormData(button.form).forEach((value, name) => {
      if (typeof value === "string") {
        fields[name] = value;
      }
    });
    status.textContent = "";
    button.disabled = true;
    try {
      const options = await post(button.dataset.options, fields, { fields });
      const credential = button.dataset.ceremony === "create" ? await create(options) : await get(options);
      const answer = await post(button.dataset.finish, fields, { fields, credential });
      window.location.assign(answer.next);
    } catch (error) {
      // A DOMException is the browser's: the user cancelled, or no passkey was there.
      status.textContent = error instanceof DOMException ? "No passkey was used." : error.message;
      button.disabled = false;
    }
  }

  document.querySelectorAll("form[data-passkey-form]").forEach((form) => {
    const button = form.querySelector("button[data-options]");
    const status = form.querySelector("[data-passkey-status]");
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(button, status);
    });
  });
})();
