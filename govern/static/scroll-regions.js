// A table wider than the screen scrolls inside its .table-wrap; a keyboard can scroll it only if the wrapper takes the
// focus. So a wrapper that scrolls becomes a named, focusable region, and one that fits stays out of the tab order.
// Without JavaScript the tables still scroll by touch, mouse and screen reader.
(function () {
  "use strict";
  function nameOf(wrap) {
    var section = wrap.closest("[aria-labelledby]");
    if (section) { return {labelledby: section.getAttribute("aria-labelledby")}; }
    var caption = wrap.querySelector("caption");
    var heading = caption || document.querySelector("main h1");
    return {label: heading ? heading.textContent.trim() : document.title};
  }
  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        var name = nameOf(wrap);
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        if (name.labelledby) {
          wrap.setAttribute("aria-labelledby", name.labelledby);
        } else {
          wrap.setAttribute("aria-label", name.label);
        }
        wrap.classList.add("is-scrolling");
      } else if (wrap.classList.contains("is-scrolling")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-labelledby");
        wrap.removeAttribute("aria-label");
        wrap.classList.remove("is-scrolling");
      }
    });
  }
  var pending = null;
  window.addEventListener("resize", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(mark);
  });
  mark();
})();
