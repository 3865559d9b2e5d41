/* The webhook form's event groups: a "select all" box beside each group's heading, kept in step with the
   group's own boxes (checked when all are, half-checked when some are). */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const list = document.getElementById("id_events");
  if (!list) return;
  list.querySelectorAll(":scope > div").forEach(function (group) {
    const heading = group.querySelector(":scope > label:not(:only-child)");
    const boxes = Array.from(group.querySelectorAll("input[type=checkbox][name=events]"));
    if (!heading || boxes.length < 2) return;
    const name = heading.textContent.trim();
    const label = document.createElement("label");
    label.className = "event-group-all";
    const all = document.createElement("input");
    all.type = "checkbox";
    all.dataset.group = name;
    all.setAttribute("aria-label", "Select all " + name + " events");
    label.append(all, " select all");
    heading.after(label);

    function sync() {
      const checked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }

    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      sync();
    });
    boxes.forEach(function (box) { box.addEventListener("change", sync); });
    sync();
  });
});
