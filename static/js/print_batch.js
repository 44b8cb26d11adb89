// A print started from a form (progress sheets, one or a batch) shows that it is working,
// cannot be started twice, and ends with the download.
//
// A form with data-print-async is posted with fetch instead of a page load: its button is
// disabled at once (a double click starts one print) and "Preparing N sheets…" shows with a
// progress bar. One patient's sheet comes back as the PDF itself. A batch comes back as a job
// (JSON: its page, status and download URLs): the status is polled every 1.5 s and the bar
// counts "N of M sheets"; when the job is done its PDF is downloaded through a link that is
// clicked automatically and stays on the page as "Download again"; when it failed the message
// says so and the button starts it again. When the answer is the form again (a field to
// correct, the same batch already running), its message and the fields' messages are shown in
// place; what was typed stays in the form. Without JavaScript the form posts as usual: a
// sheet arrives as a download, a batch opens its job's page.
//
// On a job's own page (#print-job[data-status-url]) the same polling moves the bar and
// reveals the download link or the failure; without JavaScript that page refreshes itself.
(function () {
  "use strict";

  var POLL_MS = 1500;
  // Status requests that may fail in a row (a server restarting) before we give up.
  var MAX_MISSES = 10;

  function byId(id) { return document.getElementById(id); }

  function fileName(response) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : "document.pdf";
  }

  function showProblem(text, nodes) {
    var box = byId("print-problem-box");
    var alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    alert.id = "print-problem";
    if (nodes) {
      alert.replaceChildren.apply(alert, nodes);
    } else {
      alert.textContent = text;
    }
    box.replaceChildren(alert);
  }

  // The server answered with the form page: take its message (with its link to a running
  // job, if any) and its form (with the fields' messages and the values as posted) into this page.
  function showAnswerPage(form, html) {
    var answer = new DOMParser().parseFromString(html, "text/html");
    var problem = answer.getElementById("print-problem");
    var newForm = answer.getElementById(form.id);
    if (newForm) {
      form.replaceChildren.apply(form, Array.prototype.map.call(newForm.childNodes, function (node) {
        return document.importNode(node, true);
      }));
    }
    if (problem) {
      showProblem(null, Array.prototype.map.call(problem.childNodes, function (node) {
        return document.importNode(node, true);
      }));
    } else {
      showProblem("The PDF could not be made. Nothing was printed; your entries are still in the form.");
    }
  }

  var lastUrl = null;

  function deliverLink(href, name) {
    var link = byId("print-download");
    link.href = href;
    if (name) { link.setAttribute("download", name); } else { link.removeAttribute("download"); }
    byId("print-done").hidden = false;
    link.click();
  }

  function deliverBlob(blob, name) {
    if (lastUrl) { URL.revokeObjectURL(lastUrl); }
    lastUrl = URL.createObjectURL(blob);
    deliverLink(lastUrl, name);
  }

  function loginEnded(response) {
    return response.redirected && response.url.indexOf("/login") !== -1;
  }

  // Polls ``statusUrl`` until the job is done or failed; ``show`` gets every status,
  // ``end`` the last one (or null when the status could not be fetched any more).
  function follow(statusUrl, show, end) {
    var misses = 0;
    function poll() {
      fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (loginEnded(response)) { return { state: "login" }; }
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (status) {
          misses = 0;
          show(status);
          if (status.state === "done" || status.state === "failed" || status.state === "login") {
            end(status);
          } else {
            window.setTimeout(poll, POLL_MS);
          }
        })
        .catch(function () {
          misses += 1;
          if (misses >= MAX_MISSES) { end(null); } else { window.setTimeout(poll, POLL_MS); }
        });
    }
    window.setTimeout(poll, POLL_MS);
  }

  function setBar(bar, done, total) {
    bar.max = total > 0 ? total : 1;
    bar.value = Math.min(done, bar.max);
  }

  // The form pages -----------------------------------------------------------------------------
  document.querySelectorAll("form[data-print-async]").forEach(function (form) {
    var busy = false;

    function finish() {
      byId("print-working").hidden = true;
      busy = false;
      var again = form.querySelector("[type=submit]");
      if (again) { again.disabled = false; }
    }

    function followJob(job) {
      var bar = byId("print-progress");
      var count = byId("print-count");
      setBar(bar, 0, job.total);
      count.textContent = job.text || "";
      var jobLink = byId("print-job-link");
      if (jobLink && job.page) { jobLink.href = job.page; byId("print-job-line").hidden = false; }
      follow(job.status, function (status) {
        if (typeof status.total === "number") { setBar(bar, status.done || 0, status.total); }
        if (status.text) { count.textContent = status.text; }
      }, function (status) {
        if (status && status.state === "done") {
          deliverLink(status.download, null);
        } else if (status && status.state === "failed") {
          showProblem((status.message || "The sheets could not be prepared.") +
                      " Start it again with the button below.");
        } else if (status && status.state === "login") {
          showProblem("Your login has ended. The sheets may still be prepared: log in again, then open " +
                      "the job from this form.");
        } else {
          showProblem("The progress of the print could not be fetched: the connection failed. " +
                      "Open the job's page to see whether it is ready.");
        }
        finish();
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      var button = form.querySelector("[type=submit]");
      var body = new FormData(form);
      if (button) { button.disabled = true; }
      byId("print-problem-box").replaceChildren();
      byId("print-done").hidden = true;
      var jobLine = byId("print-job-line");
      if (jobLine) { jobLine.hidden = true; }
      var bar = byId("print-progress");
      bar.removeAttribute("value");  // indeterminate until a job says how far it is
      byId("print-count").textContent = "";
      byId("print-working-text").textContent = form.getAttribute("data-preparing") || "Preparing the PDF…";
      byId("print-working").hidden = false;
      var following = false;
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "Accept": "application/json, application/pdf, text/html" }
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/pdf") === 0) {
          var version = response.headers.get("X-Note-Version");
          var versionField = form.querySelector("input[name=note_version]");
          if (version !== null && versionField) { versionField.value = version; }
          return response.blob().then(function (blob) { deliverBlob(blob, fileName(response)); });
        }
        if (loginEnded(response)) {
          showProblem("Your login has ended, so nothing was printed. Your entries are still in the form: " +
                      "log in again in another tab, then print again here.");
          return null;
        }
        if (response.ok && type.indexOf("application/json") === 0) {
          return response.json().then(function (answer) {
            following = true;
            followJob(answer.job);
          });
        }
        return response.text().then(function (html) { showAnswerPage(form, html); });
      }).catch(function () {
        showProblem("The PDF could not be fetched: the connection failed. Nothing was printed; try again.");
      }).then(function () {
        if (!following) { finish(); }
      });
    });
  });

  // A job's own page ---------------------------------------------------------------------------
  var jobBox = document.querySelector("#print-job[data-status-url]");
  if (jobBox && byId("print-job-ready").hidden && byId("print-job-failed").hidden) {
    var bar = byId("print-job-progress");
    var text = byId("print-job-text");
    follow(jobBox.getAttribute("data-status-url"), function (status) {
      if (typeof status.total === "number") { setBar(bar, status.done || 0, status.total); }
      if (status.text) { text.textContent = status.text; }
      if (status.state_text) { byId("print-job-state").textContent = status.state_text; }
    }, function (status) {
      if (status && status.state === "done") {
        byId("print-job-download").href = status.download;
        byId("print-job-ready").hidden = false;
      } else if (status && status.state === "failed") {
        byId("print-job-failed-text").textContent = status.message || "The sheets could not be prepared.";
        byId("print-job-progress-line").hidden = true;
        byId("print-job-keep").hidden = true;
        byId("print-job-failed").hidden = false;
      } else {
        window.location.reload();  // the login ended or the connection failed: the page itself says
      }
    });
  }
})();
