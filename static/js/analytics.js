// Draws the analytics bar chart from the JSON the page embeds (#platform-chart-data).
(function () {
  "use strict";
  var canvas = document.getElementById("platform-chart");
  var source = document.getElementById("platform-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var styles = getComputedStyle(document.documentElement);
  Chart.defaults.font.family = styles.getPropertyValue("--stella-font").trim() || Chart.defaults.font.family;
  Chart.defaults.color = "#5b6475";

  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        {
          label: "Impressions",
          data: data.impressions,
          backgroundColor: data.colors,
          borderRadius: 6,
          maxBarThickness: 36,
        },
        {
          label: "Engagement",
          data: data.engagement,
          // The same brand colours, lighter, so each platform keeps its colour in both series.
          backgroundColor: data.colors.map(function (c) { return c + "66"; }),
          borderRadius: 6,
          maxBarThickness: 36,
        },
      ],
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 8 } },
        tooltip: {
          callbacks: {
            label: function (ctx) { return ctx.dataset.label + ": " + ctx.parsed.x.toLocaleString(); },
          },
        },
      },
      scales: {
        x: { beginAtZero: true, grid: { color: "#eef0f4" }, ticks: { callback: function (v) { return Number(v).toLocaleString(); } } },
        y: { grid: { display: false } },
      },
    },
  });
})();
