// Reader poll: after a vote is swapped in, say what happened and keep keyboard focus in the poll.
(function () {
  "use strict";

  var announceTimer = null;

  function announce(message) {
    var region = document.getElementById("live-region");
    if (!region || !message) return;
    // Clear first so the same message twice in a row is still spoken.
    region.textContent = "";
    window.clearTimeout(announceTimer);
    announceTimer = window.setTimeout(function () {
      region.textContent = message;
    }, 60);
  }

  // Listening on document runs after handlers on body, so the poll has the last word on focus.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var source = event.detail.elt;
    if (!config || config.verb !== "post" || !source || !source.id) return;
    if (!source.classList || !source.classList.contains("poll")) return;
    var poll = document.getElementById(source.id);
    if (!poll) return;

    var status = poll.querySelector("[data-poll-status]");
    var heading = poll.querySelector(".poll__results-heading");
    var results = poll.querySelector("[data-poll-announce]");
    var failed = event.detail.xhr && event.detail.xhr.status >= 400;

    if (failed || !heading) {
      if (status) status.focus();
      return;
    }
    var parts = [];
    if (status) parts.push(status.textContent.trim());
    if (results) parts.push(results.getAttribute("data-poll-announce"));
    announce(parts.join(" "));
    heading.focus();
  });
})();
