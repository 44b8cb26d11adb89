// A print started from a form (progress sheets, one or a batch) shows that it is working,
// cannot be started twice, and ends with the download.
//
// A form with data-print-async is posted with fetch instead of a page load: its button is
// disabled at once (a double click starts one print), "Preparing N sheets…" shows with an
// indeterminate progress bar, and the PDF that comes back is saved through a link that is
// clicked automatically and stays on the page as "Download again". When the answer is the
// form again (a field to correct, a print already running), its message and the fields'
// messages are shown in place; what was typed stays in the form. Without JavaScript the
// form posts as usual and the PDF arrives as a download.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function fileName(response) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : "document.pdf";
  }

  function showProblem(text) {
    var box = byId("print-problem-box");
    var alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    alert.id = "print-problem";
    alert.textContent = text;
    box.replaceChildren(alert);
  }

  // The server answered with the form page: take its message and its form (with the
  // fields' messages and the values as posted) into this page.
  function showAnswerPage(form, html) {
    var answer = new DOMParser().parseFromString(html, "text/html");
    var problem = answer.getElementById("print-problem");
    var newForm = answer.getElementById(form.id);
    if (newForm) {
      form.replaceChildren.apply(form, Array.prototype.map.call(newForm.childNodes, function (node) {
        return document.importNode(node, true);
      }));
    }
    showProblem(problem ? problem.textContent.trim() :
      "The PDF could not be made. Nothing was printed; your entries are still in the form.");
  }

  var lastUrl = null;

  function deliver(blob, name) {
    if (lastUrl) { URL.revokeObjectURL(lastUrl); }
    lastUrl = URL.createObjectURL(blob);
    var link = byId("print-download");
    link.href = lastUrl;
    link.setAttribute("download", name);
    byId("print-done").hidden = false;
    link.click();
  }

  document.querySelectorAll("form[data-print-async]").forEach(function (form) {
    var busy = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      var button = form.querySelector("[type=submit]");
      var body = new FormData(form);
      if (button) { button.disabled = true; }
      byId("print-problem-box").replaceChildren();
      byId("print-done").hidden = true;
      byId("print-working-text").textContent = form.getAttribute("data-preparing") || "Preparing the PDF…";
      byId("print-working").hidden = false;
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/pdf") === 0) {
          var version = response.headers.get("X-Note-Version");
          var versionField = form.querySelector("input[name=note_version]");
          if (version !== null && versionField) { versionField.value = version; }
          return response.blob().then(function (blob) { deliver(blob, fileName(response)); });
        }
        if (response.redirected && response.url.indexOf("/login") !== -1) {
          showProblem("Your login has ended, so nothing was printed. Your entries are still in the form: " +
                      "log in again in another tab, then print again here.");
          return null;
        }
        return response.text().then(function (html) { showAnswerPage(form, html); });
      }).catch(function () {
        showProblem("The PDF could not be fetched: the connection failed. Nothing was printed; try again.");
      }).then(function () {
        byId("print-working").hidden = true;
        busy = false;
        var again = form.querySelector("[type=submit]");
        if (again) { again.disabled = false; }
      });
    });
  });
})();
