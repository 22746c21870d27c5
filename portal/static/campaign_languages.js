// Progressive enhancement for the campaign form: the fieldsets of the default
// language and of each other language become ARIA tabs (one panel shown at a
// time; Left/Right, Home and End move between tabs). Without JavaScript every
// fieldset is shown, each under its own legend, and the form works the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-language-tabs]");
  if (!box) { return; }
  var panels = box.querySelectorAll(".language-panel");
  if (panels.length < 2) { return; }
  var list = document.createElement("div");
  list.className = "language-tablist";
  list.setAttribute("role", "tablist");
  list.setAttribute("aria-label", "Language versions");
  var tabs = [];

  function select(index, focus) {
    for (var i = 0; i < tabs.length; i++) {
      var on = i === index;
      tabs[i].setAttribute("aria-selected", on ? "true" : "false");
      tabs[i].tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
    }
    if (focus) { tabs[index].focus(); }
  }

  function panelOf(element) {
    for (var i = 0; i < panels.length; i++) {
      if (panels[i].contains(element)) { return i; }
    }
    return -1;
  }

  for (var i = 0; i < panels.length; i++) {
    var panel = panels[i];
    var tab = document.createElement("button");
    tab.type = "button";
    tab.id = "tab-" + panel.id;
    tab.className = "language-tab";
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panel.id);
    tab.textContent = panel.getAttribute("data-tab-label") || panel.id;
    if (panel.querySelector('[aria-invalid="true"]')) {
      tab.classList.add("language-tab-invalid");
      tab.textContent += " (has a problem)";
    }
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    panel.classList.add("language-panel-tabbed");
    list.appendChild(tab);
    tabs.push(tab);
  }
  box.insertBefore(list, panels[0]);
  box.classList.add("language-tabs-enhanced");

  list.addEventListener("click", function (event) {
    var index = tabs.indexOf(event.target.closest('[role="tab"]'));
    if (index !== -1) { select(index, false); }
  });
  list.addEventListener("keydown", function (event) {
    var current = tabs.indexOf(document.activeElement);
    if (current === -1) { return; }
    var next = {
      ArrowRight: (current + 1) % tabs.length,
      ArrowLeft: (current - 1 + tabs.length) % tabs.length,
      Home: 0,
      End: tabs.length - 1
    }[event.key];
    if (next === undefined) { return; }
    event.preventDefault();
    select(next, true);
  });
  // A link of the error summary to a field in a hidden panel shows that panel first.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#"]');
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    var index = target ? panelOf(target) : -1;
    if (index !== -1) { select(index, false); }
  });

  // Start on the first panel with a problem, else on the one a preview was asked for.
  var start = 0;
  var invalid = box.querySelector('[aria-invalid="true"]');
  var previewed = document.querySelector("[data-preview-locale]");
  if (invalid) {
    start = panelOf(invalid);
  } else if (previewed) {
    var wanted = document.getElementById("language-" + previewed.getAttribute("data-preview-locale"));
    start = wanted ? panelOf(wanted) : 0;
  }
  select(Math.max(0, start), false);
})();
