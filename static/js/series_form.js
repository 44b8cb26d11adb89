// The series form: show only the value of the chosen end ("for N weeks", "number of
// sessions", "until"), and once the dates were previewed, mark the preview as out of date
// (and hold back "Create") when a field changes. Without JavaScript every field shows and
// the server uses only the chosen end and refuses a series that is not the one previewed.
(function () {
  var form = document.getElementById("series-form");
  if (!form) { return; }
  var ends = form.querySelectorAll("input[name='end']");
  function showEnd() {
    var chosen = form.querySelector("input[name='end']:checked");
    form.querySelectorAll("[data-series-end]").forEach(function (box) {
      box.hidden = !!chosen && box.getAttribute("data-series-end") !== chosen.value;
    });
  }
  ends.forEach(function (radio) { radio.addEventListener("change", showEnd); });
  showEnd();

  var create = document.getElementById("create-series");
  var stale = document.getElementById("series-preview-stale");
  if (!create) { return; }
  function outdated(event) {
    if (event.target === create) { return; }
    create.disabled = true;
    if (stale) { stale.hidden = false; }
  }
  form.addEventListener("input", outdated);
  form.addEventListener("change", outdated);
})();
