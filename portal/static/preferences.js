// Progressive enhancement for the preference center. Without JavaScript the
// mass-email warning is always visible and Save applies the form as it is.
(function () {
  "use strict";
  var form = document.getElementById("preferences-form");
  var optout = document.getElementById("field-mass_email_optout");
  var warning = document.getElementById("mass-email-warning");
  if (!form || !optout || !warning) { return; }
  var wasOptedOut = optout.checked;
  function sync() {
    // Bring the warning forward while the box is ticked for the first time.
    warning.classList.toggle("warning-active", optout.checked && !wasOptedOut);
  }
  optout.addEventListener("change", sync);
  form.addEventListener("submit", function (event) {
    if (optout.checked && !wasOptedOut) {
      var ok = window.confirm(
        "Unsubscribe from mass email? You may miss notifications about interviews, " +
        "future considerations and career opportunities. You will still get 1:1 " +
        "messages about an application you make.");
      if (!ok) { event.preventDefault(); optout.checked = false; sync(); }
    }
  });
  sync();
  var summary = document.getElementById("error-summary") || document.getElementById("saved");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
})();
