// What Flask-Admin did with inline handlers, done from a file the Content-Security-Policy allows:
// the list's bulk actions, the delete confirmation and the filter menu entries.
(function () {
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    var action = target.closest("[data-model-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(action.getAttribute("data-model-action")); }
      return;
    }
    var confirmed = target.closest("button[data-confirm]");
    if (confirmed && !window.confirm(confirmed.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    if (target.closest("a[data-no-follow]")) {
      event.preventDefault();
    }
  });
})();

// Select2 (Flask-Admin's choice boxes) draws links without words: give each its field's name,
// and each "remove" cross the name of what it removes, so screen readers can say them.
(function () {
  function labelOf(container) {
    var id = (container.id || "").replace(/^s2id_/, "");
    var label = id ? document.querySelector('label[for="' + id + '"]') : null;
    return label ? label.textContent.trim() : "Choose";
  }
  function name(root) {
    var containers = (root || document).querySelectorAll(".select2-container");
    Array.prototype.forEach.call(containers, function (container) {
      var field = labelOf(container);
      var choice = container.querySelector("a.select2-choice");
      if (choice) {
        var chosen = container.querySelector(".select2-chosen");
        var value = chosen ? chosen.textContent.trim() : "";
        var wanted = field + (value ? ": " + value : ": nothing chosen");
        if (choice.getAttribute("aria-label") !== wanted) { choice.setAttribute("aria-label", wanted); }
      }
      Array.prototype.forEach.call(container.querySelectorAll("a.select2-search-choice-close"), function (cross) {
        var item = cross.parentNode ? cross.parentNode.textContent.trim() : "";
        var wanted = "Remove " + (item || "this choice") + " from " + field;
        if (cross.getAttribute("aria-label") !== wanted) { cross.setAttribute("aria-label", wanted); }
      });
      Array.prototype.forEach.call(container.querySelectorAll("input:not([aria-label])"), function (input) {
        if (!input.labels || !input.labels.length) { input.setAttribute("aria-label", field); }
      });
    });
  }
  function start() {
    name(document);
    if (window.MutationObserver) {
      new MutationObserver(function () { name(document); })
        .observe(document.body, { childList: true, subtree: true, characterData: true });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// A table wider than a phone scrolls sideways inside its own box instead of pushing the whole
// page off the screen. The box is reachable by keyboard and named only while it does scroll.
(function () {
  function nameOf(table) {
    var caption = table.querySelector("caption");
    if (caption && caption.textContent.trim()) { return caption.textContent.trim(); }
    var node = table.parentElement ? table.parentElement.previousElementSibling : null;
    if (node && /^H[1-6]$/.test(node.tagName)) { return node.textContent.trim(); }
    return "Table";
  }
  function mark() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", nameOf(box.querySelector("table")) + " (scrolls sideways)");
      } else {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  document.querySelectorAll("main table.table").forEach(function (table) {
    if (table.closest(".table-responsive, .table-scroll")) { return; }
    var box = document.createElement("div");
    box.className = "table-scroll";
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
  });
  mark();
  window.addEventListener("resize", mark);
})();
