(function () {
  "use strict";
  var table = document.querySelector(".matrix table");
  var panel = document.getElementById("inspector");
  if (!table || !panel) { return; }
  var root = document.documentElement;
  var selected = null, quiet = false;
  function field(name) { return panel.querySelector('[data-field="' + name + '"]'); }
  function measure() {
    root.style.setProperty("--head-h", table.tHead.offsetHeight + "px");
    var first = table.tBodies[0].rows[0];
    if (first) { root.style.setProperty("--col-w", first.cells[0].offsetWidth + "px"); }
    root.style.setProperty("--panel-h", panel.hidden ? "0px" : panel.offsetHeight + 12 + "px");
  }
  function show(square) {
    if (selected) { selected.classList.remove("selected"); }
    selected = square;
    square.classList.add("selected");
    var data = square.dataset;
    var badge = field("outcome");
    badge.textContent = data.outcome || "";
    badge.className = "badge " + square.classList[1];
    ["test", "message", "duration", "warnings", "detail"].forEach(function (name) {
      field(name).textContent = data[name] || "";
    });
    field("cell").textContent = "in " + (data.cell || "");
    field("hint").textContent = data.hint ? "hint: " + data.hint : "";
    field("rule").textContent = data.rule ? "caught by: " + data.rule : "";
    var head = table.tHead.rows[0].cells[square.cellIndex];
    field("info").textContent = head ? head.dataset.info || "" : "";
    panel.hidden = false;
    measure();
  }
  function hide() {
    var last = selected;
    panel.hidden = true;
    selected = null;
    if (last) { last.classList.remove("selected"); quiet = true; last.focus(); quiet = false; }
    measure();
  }
  function move(square, key) {
    var row = square.parentElement, index = square.cellIndex, target = null;
    if (key === "ArrowLeft") { target = row.cells[index - 1]; }
    if (key === "ArrowRight") { target = row.cells[index + 1]; }
    if (key === "ArrowUp" && row.previousElementSibling) {
      target = row.previousElementSibling.cells[index];
    }
    if (key === "ArrowDown" && row.nextElementSibling) {
      target = row.nextElementSibling.cells[index];
    }
    if (target && target.classList.contains("sq")) { target.focus(); return true; }
    return false;
  }
  table.addEventListener("focusin", function (event) {
    var square = event.target.closest("td.sq");
    if (square && !quiet) { show(square); }
  });
  table.addEventListener("keydown", function (event) {
    var square = event.target.closest("td.sq");
    if (square && move(square, event.key)) { event.preventDefault(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { hide(); }
  });
  panel.querySelector(".close").addEventListener("click", hide);
  window.addEventListener("resize", measure);
  measure();
  root.dataset.ready = "true";
})();
