// Progressive enhancement for the preference center. Without JavaScript the
// mass-email warning is always shown to someone who gets those emails, and a
// Save that turns them off comes back with a step asking to confirm it.
(function () {
  "use strict";
  var form = document.getElementById("preferences-form");
  var box = document.getElementById("field-mass_email");
  var warning = document.getElementById("mass-email-warning");
  if (!form || !box || !warning) { return; }
  // Whether the person gets these emails now (the box may show the form as posted).
  var optedIn = box.getAttribute("data-opted-in") === "yes";
  function turningOff() { return optedIn && !box.checked; }
  function sync() {
    // The warning appears, highlighted, while the box is about to be turned off.
    warning.hidden = !turningOff();
    warning.classList.toggle("warning-active", turningOff());
  }
  box.addEventListener("change", sync);
  form.addEventListener("submit", function (event) {
    // The confirm step's own buttons already say yes or no.
    if (event.submitter && event.submitter.name) { return; }
    if (!turningOff()) { return; }
    // The question is in the page's language, in the form's data-confirm-off.
    var ok = window.confirm(form.getAttribute("data-confirm-off") ||
      "Stop occasional emails? You may miss notifications about interviews, " +
      "future considerations and career opportunities. You will still get 1:1 " +
      "messages about an application you make.");
    if (!ok) {
      event.preventDefault();
      box.checked = true;
      sync();
      return;
    }
    var yes = document.createElement("input");
    yes.type = "hidden";
    yes.name = "confirm_mass_email_off";
    yes.value = "yes";
    form.appendChild(yes);
  });
  sync();
  var summary = document.getElementById("error-summary") ||
    document.getElementById("confirm-off") || document.getElementById("saved");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
})();

// A pause date a saved search's form could not take comes back with the error
// beside that field: move the focus there. (A change that was saved redirects to
// #search-notice, which the browser focuses by itself.)
(function () {
  "use strict";
  var invalid = document.querySelector(".saved-search [aria-invalid='true']");
  if (invalid) { invalid.focus(); }
})();
