// Order entry: keyboard, leaving with unsaved input, and confirming unusual quantities.
// Loaded by the entry page only; the form works without it (the server asks for the
// confirmation itself and every message is rendered on its field).
(function () {
  "use strict";
  var form = document.querySelector("[data-entry-form]");
  if (!form) { return; }
  var dirty = false;
  var submitting = false;

  function fields() {
    return Array.prototype.filter.call(
      form.querySelectorAll("input, select, textarea, button"),
      function (el) {
        return !el.disabled && el.type !== "hidden" && el.offsetParent !== null && el.tabIndex >= 0 &&
          !el.closest(".suggest");
      }
    );
  }

  function suggestionsFor(input) {
    var id = input.getAttribute("aria-controls");
    var list = id ? document.getElementById(id) : null;
    return list ? list.querySelectorAll("button") : [];
  }

  form.addEventListener("keydown", function (event) {
    var el = event.target;
    // Arrow keys move from a search field into its suggestions and through them.
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var list = el.closest(".suggest");
      if (list) {
        var items = Array.prototype.slice.call(list.querySelectorAll("button"));
        var at = items.indexOf(el) + (event.key === "ArrowDown" ? 1 : -1);
        event.preventDefault();
        if (at < 0) {
          var owner = form.querySelector("[aria-controls='" + list.id + "']");
          if (owner) { owner.focus(); }
        } else if (at < items.length) {
          items[at].focus();
        }
        return;
      }
      if (event.key === "ArrowDown" && el.tagName === "INPUT") {
        var options = suggestionsFor(el);
        if (options.length) { event.preventDefault(); options[0].focus(); }
      }
      return;
    }
    if (event.key === "Escape" && el.closest(".suggest")) {
      var box = el.closest(".suggest");
      var back = form.querySelector("[aria-controls='" + box.id + "']");
      box.innerHTML = "";
      if (back) { back.focus(); }
      return;
    }
    // Enter moves to the next field; only the Submit button submits.
    if (event.key === "Enter" && el.tagName !== "TEXTAREA" && el.tagName !== "BUTTON" &&
        !(el.tagName === "INPUT" && (el.type === "submit" || el.type === "checkbox"))) {
      event.preventDefault();
      var all = fields();
      var next = all[all.indexOf(el) + 1];
      if (next) { next.focus(); }
    }
  });

  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("picked", function () { dirty = true; });

  form.addEventListener("submit", function (event) {
    var saving = event.submitter && event.submitter.name === "save_draft";
    var confirmBox = form.querySelector("[data-confirm-unusual]");
    if (!saving && confirmBox && !confirmBox.checked) {
      var why = Array.prototype.map.call(
        form.querySelectorAll(".field-warning"), function (p) { return p.textContent; }
      ).join("\n");
      if (!window.confirm("Submit these unusual amounts?\n\n" + why)) {
        event.preventDefault();
        return;
      }
      confirmBox.checked = true;
    }
    if (submitting) { event.preventDefault(); return; }  // one post per click; the server is idempotent anyway
    submitting = true;
    dirty = false;
  });

  window.addEventListener("beforeunload", function (event) {
    if (!dirty) { return; }
    event.preventDefault();
    event.returnValue = "";  // the browser shows its own "leave the page?" question
  });
})();
