// Reader poll: after a vote is swapped in, say what happened and keep keyboard focus in the poll.
(function () {
  "use strict";

  var announce = window.evrAnnounce;

  // The poll form that sent this vote, as it is in the page after the swap.
  function votedPoll(event) {
    var config = event.detail.requestConfig;
    var source = event.detail.elt;
    if (!config || config.verb !== "post" || !source || !source.id) return null;
    if (!source.classList || !source.classList.contains("poll")) return null;
    return document.getElementById(source.id);
  }

  // Where focus belongs after a vote: the results heading, or the message when it failed.
  function focusTarget(poll, event) {
    var failed = event.detail.xhr && event.detail.xhr.status >= 400;
    var status = poll.querySelector("[data-poll-status]");
    var heading = poll.querySelector(".poll__results-heading");
    return failed || !heading ? status : heading;
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var poll = votedPoll(event);
    if (!poll) return;
    var target = focusTarget(poll, event);
    if (target === poll.querySelector(".poll__results-heading")) {
      var status = poll.querySelector("[data-poll-status]");
      var results = poll.querySelector("[data-poll-announce]");
      var parts = [];
      if (status) parts.push(status.textContent.trim());
      if (results) parts.push(results.getAttribute("data-poll-announce"));
      announce(parts.join(" "));
    }
    if (target) target.focus();
  });

  // Other scripts may move focus once the swap settles; keep it where the poll put it.
  // (Listening on document runs after handlers on body.)
  document.addEventListener("htmx:afterSettle", function (event) {
    var poll = votedPoll(event);
    if (!poll) return;
    var target = focusTarget(poll, event);
    if (target && document.activeElement !== target) target.focus();
  });
})();
