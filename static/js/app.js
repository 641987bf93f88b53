// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    var all = event.target.closest("[data-check-all]");
    if (all) {
      var scope = document.querySelectorAll("input[name='" + all.getAttribute("data-check-all") + "']");
      scope.forEach(function (box) { box.checked = all.checked; });
    }
    var pick = event.target.closest("[data-pick]");
    if (pick) {
      event.preventDefault();
      var target = document.getElementById(pick.getAttribute("data-pick"));
      target.value = pick.getAttribute("data-value");
      var list = pick.closest(".suggest");
      if (list) { list.innerHTML = ""; }
      target.dispatchEvent(new Event("picked", { bubbles: true }));
      target.focus();
    }
  });
  // Charts: a <canvas data-chart='{...}'> holds its Chart.js config as JSON.
  function drawCharts() {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas._chart) { return; }
      canvas._chart = new window.Chart(canvas, JSON.parse(canvas.getAttribute("data-chart")));
    });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
})();
// Order entry: the next free line index, and removing a line (then the quote refreshes).
window.omsNextLine = function () {
  var max = -1;
  document.querySelectorAll(".entry-line[data-line]").forEach(function (row) {
    max = Math.max(max, parseInt(row.getAttribute("data-line"), 10));
  });
  return max + 1;
};
// "+ Add line" sends the next free index (an attribute, not hx-vals="js:...": no eval under the CSP).
document.addEventListener("htmx:configRequest", function (event) {
  if (event.detail.elt && event.detail.elt.hasAttribute("data-next-line")) {
    event.detail.parameters.i = window.omsNextLine();
  }
});
document.addEventListener("click", function (event) {
  var remove = event.target.closest("[data-remove-line]");
  if (!remove) { return; }
  var row = remove.closest(".entry-line");
  var form = row.closest("form");
  if (document.querySelectorAll(".entry-line").length > 1) { row.remove(); }
  else { row.querySelectorAll("input").forEach(function (i) { i.value = i.type === "number" ? "" : ""; }); }
  if (form) { form.dispatchEvent(new Event("change", { bubbles: true })); }
});
