// Record by exception: choosing a status fills in the minutes it implies.
// A select names its row with data-patient (the record page) or stands alone (a correction).
(function () {
  document.querySelectorAll("select[data-record-status]").forEach(function (select) {
    select.addEventListener("change", function () {
      var pid = select.getAttribute("data-patient");
      var suffix = pid ? "-" + pid : "";
      var length = select.getAttribute("data-length");
      var minutes = document.getElementById("minutes" + suffix);
      var engagement = document.getElementById("engagement" + suffix);
      if (select.value === "absent" || select.value === "excused") {
        minutes.value = "0";
        engagement.value = "";
      } else if (select.value === "present") {
        if (minutes.value === "" || minutes.value === "0") { minutes.value = length; }
      } else {
        if (minutes.value === length || minutes.value === "0") { minutes.value = ""; }
        minutes.focus();
      }
    });
  });
})();
