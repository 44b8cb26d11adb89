// A whole-clinic report being computed (#report-run[data-status-url]): the status is polled
// every 1.5 s; when the run is done the report is opened, when it failed its message is shown
// with the link to ask again. The <noscript> refresh of the page stops being needed.
(function () {
  "use strict";

  var POLL_MS = 1500;
  // Status requests that may fail in a row (a server restarting) before we give up.
  var MAX_MISSES = 10;
  var box = document.getElementById("report-run");
  if (!box || !box.dataset.statusUrl) { return; }
  var misses = 0;

  function failed(text) {
    document.getElementById("report-run-waiting").hidden = true;
    if (text) { document.getElementById("report-run-failed-text").textContent = text; }
    document.getElementById("report-run-failed").hidden = false;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (run) {
        misses = 0;
        document.getElementById("report-run-state").textContent = run.state_text;
        if (run.state === "done") {
          window.location.assign(run.report || box.dataset.reportUrl);
        } else if (run.state === "failed") {
          failed(run.message);
        } else {
          window.setTimeout(poll, POLL_MS);
        }
      })
      .catch(function () {
        misses += 1;
        if (misses >= MAX_MISSES) {
          failed("The report's state cannot be read just now. Reload this page to try again.");
        } else {
          window.setTimeout(poll, POLL_MS);
        }
      });
  }

  window.setTimeout(poll, POLL_MS);
}());
