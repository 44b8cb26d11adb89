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
