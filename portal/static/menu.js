// The header's Menu button on a phone is a native <details>: it opens and closes from
// the keyboard without JavaScript. This adds what a menu is expected to do besides:
// Escape folds it and gives the focus back to the button; a click elsewhere folds it.
(function () {
  "use strict";
  var menu = document.querySelector(".nav-menu");
  if (!menu) { return; }
  var button = menu.querySelector("summary");
  var nav = menu.nextElementSibling;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      button.focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (menu.open && !menu.contains(event.target) && !(nav && nav.contains(event.target))) {
      menu.open = false;
    }
  });
})();
