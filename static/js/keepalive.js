// While someone types on a page, keep their login alive (at most one ping every 5 minutes),
// so a long note is not lost to an expired session. The URL and token come from <body>.
(function () {
  var body = document.body;
  var url = body.getAttribute("data-keepalive-url");
  var token = body.getAttribute("data-csrf-token");
  if (!url) { return; }
  var last = Date.now();
  document.addEventListener("input", function () {
    if (Date.now() - last < 5 * 60 * 1000) { return; }
    last = Date.now();
    fetch(url, {method: "POST", headers: {"X-CSRFToken": token}, credentials: "same-origin"});
  });
})();
