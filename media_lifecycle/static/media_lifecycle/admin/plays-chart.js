/* Plays per day on a video's page, drawn with the vendored Chart.js from the data the page embeds. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const canvas = document.getElementById("plays-chart");
  const source = document.getElementById("plays-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  canvas.chart = new Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: "Plays", data: data.plays, backgroundColor: "#417690" }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxRotation: 0, autoSkip: true } } },
    },
  });
});
