// Progressive enhancement for the interest edit page: its language fieldsets become
// tabs (WAI-ARIA tabs pattern: a tablist of buttons, one tabpanel shown at a time,
// Left/Right/Home/End move between tabs). Without JavaScript every language's
// fieldset is shown one after another, each under its heading.
(function () {
  "use strict";
  var box = document.querySelector("[data-language-tabs]");
  if (!box) { return; }
  var panels = box.querySelectorAll("[data-language-panel]");
  if (panels.length < 2) { return; }
  var list = document.createElement("div");
  list.className = "language-tablist";
  list.setAttribute("role", "tablist");
  list.setAttribute("aria-label", "Languages");
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
  function onKey(event) {
    var index = tabs.indexOf(event.currentTarget);
    var next = null;
    // Arrows follow the reading direction: in a right-to-left page Left moves on.
    var rtl = getComputedStyle(list).direction === "rtl";
    if (event.key === "ArrowRight") { next = index + (rtl ? -1 : 1); }
    else if (event.key === "ArrowLeft") { next = index + (rtl ? 1 : -1); }
    else if (event.key === "Home") { next = 0; }
    else if (event.key === "End") { next = tabs.length - 1; }
    if (next === null) { return; }
    event.preventDefault();
    select((next + tabs.length) % tabs.length, true);
  }
  var first = 0;
  var firstFound = false;
  for (var i = 0; i < panels.length; i++) {
    var panel = panels[i];
    var title = panel.querySelector(".language-panel-title");
    var tab = document.createElement("button");
    tab.type = "button";
    tab.className = "language-tab";
    tab.id = panel.id + "-tab";
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panel.id);
    tab.textContent = title ? title.textContent : panel.id;
    var invalid = panel.querySelector(".field-invalid") !== null;
    if (invalid) {
      tab.className += " language-tab-invalid";
      // A tab whose fields hold an error is the one shown first, and says so.
      tab.textContent += " (error)";
      if (!firstFound) { first = i; firstFound = true; }
    }
    tab.addEventListener("click", (function (n) { return function () { select(n, false); }; })(i));
    tab.addEventListener("keydown", onKey);
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    if (title) { title.closest("legend").classList.add("visually-hidden"); }
    tabs.push(tab);
    list.appendChild(tab);
  }
  box.insertBefore(list, box.firstChild);
  box.classList.add("language-tabs-ready");
  select(first, false);
})();
