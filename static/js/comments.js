// Reader comments: focus and small conveniences around the htmx swaps. What to announce
// after an action, and where focus goes, comes from the server ("evr:announce", site.js).
(function () {
  "use strict";

  var TEXT_FIELDS = "input[type='text']:not([tabindex='-1']), input[type='email'], textarea";
  var announce = window.evrAnnounce;
  var focusElement = window.evrFocus;

  // Where a newly opened form wants the reader: the first choice, else the first empty box
  // that must be filled (an optional email stays skippable), else the text box.
  function firstFieldToFill(container) {
    var choice = container.querySelector("input[type='radio']");
    if (choice) return choice;
    var fields = container.querySelectorAll(TEXT_FIELDS);
    for (var index = 0; index < fields.length; index++) {
      if (fields[index].required && !fields[index].value) return fields[index];
    }
    return container.querySelector("textarea, .comment-notice");
  }

  // After an htmx swap: a newly opened form gets focus; a form that came back with errors
  // puts focus on the first field to fix and reads the problem out.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    if (!target || !xhr) return;
    // A sent report is replaced by its note (thanks, or "already reported"): keep focus there.
    var note = target.id && target.id.indexOf("report-form-") === 0 &&
      document.getElementById(target.id.replace("report-form-", "report-done-"));
    if (note) {
      focusElement(note);
      return;
    }
    if (xhr.status >= 400) {
      var requester = event.detail.elt;
      var form = requester && requester.id ? document.getElementById(requester.id) : null;
      if (!form || !form.closest("#comment-section")) return; // the poll moves its own focus
      var invalid = form.querySelector("[aria-invalid='true']");
      var errors = Array.prototype.map.call(form.querySelectorAll(".errorlist li"), function (item) {
        return item.textContent.trim();
      });
      if (errors.length) announce(errors.join(" "));
      focusElement(invalid || form.querySelector("textarea") || form);
      return;
    }
    if (target.classList && target.classList.contains("comment__slot")) {
      focusElement(firstFieldToFill(target));
    } else if (target.classList && target.classList.contains("comment")) {
      var editor = document.getElementById(target.id);
      var box = editor && editor.querySelector("form.comment-form--edit textarea");
      focusElement(box || editor);
    }
  });

  function unsentText(container) {
    return Array.prototype.filter.call(container.querySelectorAll("textarea"), function (box) {
      return box.value.trim() && box.value !== box.defaultValue;
    });
  }

  // Nothing typed is lost: a swap that would replace an unsent reply or edit asks first,
  // and reopening a reply form that already holds text just returns to it.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelectorAll) return;
    // The form being sent (or cancelled) is the one holding the text: let it go.
    var sending = event.detail.elt && event.detail.elt.closest("form");
    var unsent = unsentText(target).filter(function (box) {
      return box.form !== sending;
    });
    if (!unsent.length) return;
    if (target.classList.contains("comment__slot")) {
      event.preventDefault();
      focusElement(unsent[0]);
    } else if (!window.confirm("You have text that is not posted yet. Discard it?")) {
      event.preventDefault();
      focusElement(unsent[0]);
    }
  });

  // "Cancel" on a reply or report form opened in place: close it and return to the comment.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-cancel-form]");
    if (!cancel) return;
    var slot = cancel.closest(".comment__slot");
    if (!slot) return; // on its own page the link simply goes back
    event.preventDefault();
    slot.innerHTML = "";
    focusElement(slot.closest(".comment"));
  });
})();
