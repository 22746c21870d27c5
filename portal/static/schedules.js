// Progressive enhancement for the schedule form: only the fields of the chosen
// cadence are shown. Without JavaScript every field is shown, each label saying
// which cadence it belongs to, and the server ignores the ones not chosen.
(function () {
  "use strict";
  var radios = document.querySelectorAll('input[name="cadence"]');
  var fields = document.querySelectorAll("[data-cadences]");
  if (!radios.length || !fields.length) { return; }
  function chosen() {
    for (var i = 0; i < radios.length; i++) {
      if (radios[i].checked) { return radios[i].value; }
    }
    return null;
  }
  function sync() {
    var cadence = chosen();
    for (var i = 0; i < fields.length; i++) {
      var wanted = fields[i].getAttribute("data-cadences").split(" ");
      // With nothing chosen yet, or a field holding an error, keep it in view.
      var keep = cadence === null || wanted.indexOf(cadence) !== -1 ||
        fields[i].classList.contains("field-invalid");
      fields[i].hidden = !keep;
    }
  }
  for (var i = 0; i < radios.length; i++) { radios[i].addEventListener("change", sync); }
  sync();
})();
