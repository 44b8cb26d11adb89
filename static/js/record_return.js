// After a save the record page comes back where the person was, not at the top.
// The row last touched travels with the form (return_to: the server redirects to #row-N);
// its place on the screen is kept in sessionStorage so the row comes back at the same height.
(function () {
  var form = document.getElementById("record-form");
  var field = document.getElementById("record-return-to");
  if (!form || !field) { return; }
  var key = "record-place:" + window.location.pathname + window.location.search;

  function rowOf(element) {
    return element && element.closest ? element.closest("tbody.record-person") : null;
  }

  function remember(event) {
    var row = rowOf(event.target);
    if (row) { field.value = row.id; }
  }
  // "Saved ..." in the action bar is true until the next change: then it goes.
  form.addEventListener("input", function () {
    form.querySelectorAll(".record-actions .record-flash").forEach(function (flash) { flash.remove(); });
  });
  // Typing and choosing (not "change", which a field left behind fires late, on blur).
  form.addEventListener("input", remember);
  form.addEventListener("focusin", remember);

  form.addEventListener("submit", function () {
    var row = field.value ? document.getElementById(field.value) : null;
    if (!row) { return; }
    try {
      window.sessionStorage.setItem(key, JSON.stringify({row: row.id, top: row.getBoundingClientRect().top}));
    } catch (e) { /* storage off: the #row fragment still brings the row into view */ }
  });

  // Refused for bad input: the first field to correct comes into view, focused (the message
  // at the top is announced as an alert and names how many fields are marked).
  var invalid = document.getElementById("record-invalid") && form.querySelector(".is-invalid");
  if (invalid) {
    window.addEventListener("load", function () {
      invalid.focus({preventScroll: true});
      invalid.scrollIntoView({block: "center"});
    });
  }

  var place = null;
  try {
    place = JSON.parse(window.sessionStorage.getItem(key) || "null");
    window.sessionStorage.removeItem(key);
  } catch (e) { place = null; }
  var wanted = window.location.hash.slice(1);
  if (!place || place.row !== wanted) { return; }
  field.value = place.row;
  window.addEventListener("load", function () {
    var row = document.getElementById(place.row);
    if (!row) { return; }
    // Same height as before, but never under the action bar at the bottom.
    var top = Math.max(0, Math.min(place.top, window.innerHeight * 0.4));
    window.scrollTo(0, window.pageYOffset + row.getBoundingClientRect().top - top);
  });
})();
