// Progressive enhancement for the connect flow. Without JavaScript every link
// and button still works; this only saves page loads.
(function () {
  "use strict";
  // "Show Details" reveals an interest's details in place instead of opening its page.
  document.querySelectorAll("a[data-details]").forEach(function (link) {
    var panel = document.getElementById(link.getAttribute("data-details"));
    if (!panel) { return; }
    link.setAttribute("role", "button");
    link.setAttribute("aria-expanded", "false");
    var label = link.firstChild.textContent;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var open = panel.hasAttribute("hidden");
      if (open) { panel.removeAttribute("hidden"); } else { panel.setAttribute("hidden", ""); }
      link.setAttribute("aria-expanded", open ? "true" : "false");
      // The page gives the words in its language; English only if an old page lacks them.
      link.firstChild.textContent = open ? (link.getAttribute("data-hide-label") || "Hide details") : label;
    });
    link.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); link.click(); }
    });
  });
  // "Add suggested interests" ticks the resume's suggestions in place instead of posting
  // the form back. Only this button ever ticks them; they are never ticked on their own.
  document.querySelectorAll("button[data-add-suggested]").forEach(function (button) {
    var form = button.form;
    var status = document.getElementById("suggestions-status");
    button.addEventListener("click", function (event) {
      if (!form) { return; }
      event.preventDefault();
      form.querySelectorAll("input[type=checkbox][data-suggested]").forEach(function (box) {
        box.checked = true;
      });
      if (status) { status.textContent = button.getAttribute("data-added-message") || ""; }
    });
  });
  // Move focus to the error summary so screen readers announce it.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
})();
