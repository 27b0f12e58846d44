// Site-wide behaviour that needs JavaScript; every page works without it.
document.documentElement.classList.add("js");

// Say `message` in the page's polite live region (#live-region in base.html).
window.evrAnnounce = (function () {
  var timer = null;
  return function announce(message) {
    var region = document.getElementById("live-region");
    if (!region || !message) return;
    // Clear first so the same message twice in a row is still spoken.
    region.textContent = "";
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      region.textContent = message;
    }, 60);
  };
})();

// Move keyboard focus to `element`, making it focusable first if it is not.
window.evrFocus = function focus(element) {
  if (!element) return;
  if (!element.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(element.tagName)) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
};

// After an htmx action the server says what changed and where focus goes: the
// "evr:announce" event (comments/responses.py), the same for every part of the site.
document.addEventListener("evr:announce", function (event) {
  var detail = event.detail || {};
  window.evrAnnounce(detail.message);
  if (detail.focus) window.evrFocus(document.querySelector(detail.focus));
});

// A request that fails outright (a server error, or no network) swaps nothing: say so beside
// the form or link the reader used, instead of leaving them waiting for nothing.
(function () {
  "use strict";

  var MESSAGE = "Sorry, that did not work. Please try again in a moment.";

  function requestFailed(event) {
    var source = event.detail && event.detail.elt;
    var config = event.detail && event.detail.requestConfig;
    // Background refreshes (no triggering event) just try again on their next turn.
    if (!source || !source.isConnected || !config || !config.triggeringEvent) return;
    var anchor = source.closest("form") || source;
    var notice = anchor.nextElementSibling;
    if (!notice || !notice.classList.contains("request-error")) {
      notice = document.createElement("p");
      notice.className = "request-error";
      notice.setAttribute("role", "alert");
      anchor.insertAdjacentElement("afterend", notice);
    }
    notice.textContent = "";
    window.setTimeout(function () { notice.textContent = MESSAGE; }, 60);
  }

  function clearNotice(event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.isConnected) return;
    var anchor = source.closest("form") || source;
    var notice = anchor.nextElementSibling;
    if (notice && notice.classList.contains("request-error")) notice.remove();
  }

  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);
  document.addEventListener("htmx:beforeRequest", clearNotice);
})();
