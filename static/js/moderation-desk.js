// The moderation desk's keyboard shortcuts: j / k move to the next and previous comment,
// a / r / s approve, reject or mark it as spam. Every action is also a plain button (Tab
// reaches it) in a form that works without JavaScript; this only saves key presses.
// What happened is announced by the server ("evr:announce", site.js).
(function () {
  "use strict";

  var desk = document.querySelector(".desk");
  if (!desk) return;

  var ACTIONS = { a: "approve", r: "reject", s: "spam" };
  // Fields where letters are typed: no shortcut fires there.
  var TYPING = "textarea, select, [contenteditable=''], [contenteditable='true'], " +
    "input:not([type]), input[type='text'], input[type='search'], input[type='email'], " +
    "input[type='url'], input[type='number'], input[type='password'], input[type='tel']";

  function announce(message) {
    if (window.evrAnnounce) window.evrAnnounce(message);
  }

  function entries() {
    return Array.prototype.slice.call(document.querySelectorAll(".desk-entry"));
  }

  function currentEntry() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(".desk-entry") : null;
  }

  function focusEntry(entry) {
    if (!entry) return;
    entry.focus({ preventScroll: true });
    entry.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = entries();
    if (!list.length) {
      announce("There is no comment on this page.");
      return;
    }
    var index = list.indexOf(currentEntry());
    var next = index === -1 ? (step > 0 ? list[0] : list[list.length - 1]) : list[index + step];
    if (next) {
      focusEntry(next);
    } else {
      announce(step > 0 ? "This is the last comment on the page." : "This is the first comment on the page.");
    }
  }

  function act(action) {
    var entry = currentEntry();
    if (!entry) {
      announce("Choose a comment first: press j.");
      return;
    }
    var button = entry.querySelector("button[name='action'][value='" + action + "']");
    if (button) {
      button.click();
    } else {
      announce("That action is not offered for this comment.");
    }
  }

  // Enter in a note presses the form's default button, which is disabled (queue.html): say
  // what to do instead, so the key press is not met with silence.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !target || !target.closest) return;
    if (target.matches("input[name='reason']") && target.closest("form.desk-actions")) {
      announce("The note is kept. Press Tab to reach the actions, then choose one.");
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var target = event.target;
    if (target && target.closest && target.closest(TYPING)) return;
    var key = event.key;
    if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (ACTIONS[key] && desk.querySelector("form.desk-actions")) {
      event.preventDefault();
      act(ACTIONS[key]);
    }
  });

  // After an action in place (the server's "desk:acted" event, once htmx has settled), go on
  // to the next comment still waiting; when none is left, to the link that loads more.
  document.addEventListener("desk:acted", function (event) {
    var detail = event.detail || {};
    var done = document.getElementById("entry-" + detail.entry);
    var list = entries();
    var start = list.indexOf(done);
    for (var index = start + 1; index < list.length; index++) {
      if (!list[index].classList.contains("desk-entry--done")) {
        focusEntry(list[index]);
        return;
      }
    }
    var more = document.getElementById("desk-next");
    if (more) {
      more.focus();
    } else if (done) {
      focusEntry(done);
    }
  });
})();
