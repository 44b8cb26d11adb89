// Record by exception: choosing a status sets what the minutes field asks for.
// Present, absent and excused ask the minutes attended; late and left early ask the minutes
// late or left early (the field's name becomes "missed-..."), and a preview shows the minutes
// attended. The server computes what is stored; this only helps the eye.
// A select names its row with data-patient (the record page) or stands alone (a correction).
(function () {
  var LABELS = {late: "Minutes late", left_early: "Minutes left early"};

  function parts(pid) {
    var suffix = pid ? "-" + pid : "";
    return {
      suffix: suffix,
      minutes: document.getElementById("minutes" + suffix),
      engagement: document.getElementById("engagement" + suffix),
      label: document.getElementById("minutes-label" + suffix),
      preview: document.getElementById("attended" + suffix)
    };
  }

  function asksMissed(input) {
    return input.name.indexOf("missed") === 0;
  }

  function showPreview(select, p) {
    if (!p.preview) { return; }
    var length = parseInt(select.getAttribute("data-length"), 10);
    var text = p.minutes.value.trim();
    if (!asksMissed(p.minutes) || !/^\d+$/.test(text)) { p.preview.textContent = ""; return; }
    var gone = parseInt(text, 10);
    if (gone < 0 || gone >= length) {
      p.preview.textContent = "Give 1 to " + (length - 1) + " (the session is " + length + " minutes).";
    } else {
      p.preview.textContent = (length - gone) + " of " + length + " minutes attended";
    }
  }

  document.querySelectorAll("select[data-record-status]").forEach(function (select) {
    var p = parts(select.getAttribute("data-patient"));
    if (!p.minutes) { return; }
    p.minutes.addEventListener("input", function () { showPreview(select, p); });
    select.addEventListener("change", function () {
      var length = select.getAttribute("data-length");
      var wasMissed = asksMissed(p.minutes);
      if (select.value === "late" || select.value === "left_early") {
        p.minutes.name = "missed" + p.suffix;
        if (p.label) { p.label.textContent = LABELS[select.value]; }
        if (!wasMissed) { p.minutes.value = ""; }
        p.minutes.focus();
      } else {
        p.minutes.name = "minutes" + p.suffix;
        if (p.label) { p.label.textContent = "Minutes attended"; }
        if (select.value === "absent" || select.value === "excused") {
          p.minutes.value = "0";
          if (p.engagement) { p.engagement.value = ""; }
        } else if (wasMissed || p.minutes.value === "" || p.minutes.value === "0") {
          p.minutes.value = length;
        }
      }
      showPreview(select, p);
    });
  });
})();
