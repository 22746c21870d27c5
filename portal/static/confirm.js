// Progressive enhancement for the console's destructive actions (every form with a
// data-confirm: retire or merge an interest, close a job, deactivate a recruiter, …).
// Without JavaScript the server asks instead: a confirmation step with a box to tick
// (portal/views/console_confirm.py). With it, a dialog asks the form's data-confirm;
// Cancel sends nothing, OK sends the confirmation (confirm=yes) along.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-confirm]");
  Array.prototype.forEach.call(forms, function (form) {
    var box = form.querySelector('input[type="checkbox"][name="confirm"]');
    var row = box && box.closest(".confirm-box");
    if (row) { row.hidden = true; }
    form.addEventListener("submit", function (event) {
      var message = form.getAttribute("data-confirm");
      var target = form.querySelector("select");
      if (target && target.selectedIndex >= 0) {
        message = message.replace("{target}", target.options[target.selectedIndex].text);
      }
      if (!window.confirm(message)) { event.preventDefault(); return; }
      if (box) {
        box.checked = true;
      } else {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "confirm";
        hidden.value = "yes";
        form.appendChild(hidden);
      }
    });
  });
})();
