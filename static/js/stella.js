// Stella's small behaviours. No inline scripts in templates: everything hooks in from here.
(function () {
  "use strict";

  // Filter selects marked data-autosubmit apply as soon as they change (a button is shown when JS is off).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  });

  // Buttons marked data-copy-target="<input id>" copy that input's value (the admin's generated password).
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
    var source = button ? document.getElementById(button.getAttribute("data-copy-target")) : null;
    if (!source || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(source.value).then(function () {
      var icon = button.querySelector(".bi");
      if (icon) {
        icon.classList.replace("bi-clipboard", "bi-clipboard-check");
      }
    });
  });

  // htmx: the CSRF header comes from hx-headers on <body>; keep it fresh if a fragment replaces the meta tag.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail && event.detail.headers) {
      event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
  });
})();
