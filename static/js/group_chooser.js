// Group choosers (templates/admin/groups_choice/_chooser.html): as staff type a name or
// change the track, the group select is refilled with the first matches from the page's
// JSON address (never every group of the clinic), and the status line says how many match.
// Enter in the search and "Find groups" search here instead of reloading the page. Without
// JavaScript the same controls submit a small GET form and the server fills the select.
(function () {
  document.querySelectorAll("[data-group-chooser]").forEach(function (box) {
    var url = box.getAttribute("data-url");
    var select = document.getElementById(box.getAttribute("data-select"));
    var status = document.getElementById(box.getAttribute("data-status"));
    var scope = box.getAttribute("data-scope") ? document.getElementById(box.getAttribute("data-scope")) : null;
    var track = box.querySelector("[data-group-track]");
    var search = box.querySelector("[data-group-search]");
    var find = box.querySelector("[data-group-find]");
    if (!url || !select || !track || !search) { return; }
    var placeholder = select.querySelector("option[value='']");
    var asked = 0;
    var timer = null;

    function fill(answer) {
      var chosen = select.value;
      while (select.options.length) { select.remove(0); }
      if (placeholder) { select.add(placeholder); }
      answer.groups.forEach(function (group) {
        var option = document.createElement("option");
        option.value = String(group.id);
        option.textContent = group.label;
        if (option.value === chosen) { option.selected = true; }
        select.add(option);
      });
      if (placeholder && !select.querySelector("option:checked")) { placeholder.selected = true; }
      if (scope) { scope.value = track.value; }
      if (status) {
        status.textContent = answer.text;
        status.setAttribute("data-total", String(answer.total));
      }
    }

    function ask() {
      var number = ++asked;
      var query = "?q=" + encodeURIComponent(search.value.trim()) + "&track=" + encodeURIComponent(track.value);
      fetch(url + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.json(); })
        .then(function (answer) { if (number === asked) { fill(answer); } })
        .catch(function () {
          if (number === asked && status) { status.textContent = "The groups could not be searched just now; use Find groups."; }
        });
    }

    function later() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(ask, 250);
    }

    search.addEventListener("input", later);
    track.addEventListener("change", ask);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); ask(); }
    });
    if (find) {
      find.addEventListener("click", function (event) { event.preventDefault(); ask(); });
    }
  });
})();
