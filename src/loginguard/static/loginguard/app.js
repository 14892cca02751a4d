// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Close the user pop-up with Escape or a click outside, as people expect of a menu.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.usermenu-popup[open]").forEach(function (d) {
      d.removeAttribute("open");
      var summary = d.querySelector("summary");
      if (summary) summary.focus();
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu-popup[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
  // Reveal the device-name field only when "Yes" is chosen on the trust prompt.
  function syncTrust() {
    var yes = document.querySelector("input[name=trust][value=yes]");
    var box = document.getElementById("device-name-field");
    if (!yes || !box) return;
    box.hidden = !yes.checked;
    var input = box.querySelector("input");
    if (input) input.required = yes.checked;
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "trust") syncTrust();
  });
  document.addEventListener("DOMContentLoaded", syncTrust);
  // The demo mailbox's HTML preview: as tall as the email (the frame runs no script; its
  // sandbox lets this page read its height).
  function fitFrame(frame) {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        frame.style.height = (doc.documentElement.scrollHeight + 16) + "px";
      }
    } catch (error) { /* another origin: keep the stylesheet's height */ }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("iframe.mail-frame").forEach(function (frame) {
      frame.addEventListener("load", function () { fitFrame(frame); });
      fitFrame(frame);
    });
  });
  // Copy buttons (API token shown once).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) return;
    navigator.clipboard.writeText(target.value || target.textContent).then(function () {
      button.textContent = "Copied";
    });
  });
})();
