// Chart.js, tree-shaken: only the controllers, elements, scales and plugins these charts use.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
} from "chart.js";

import { bucketLabel } from "./format.js";

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
);

export const DEVICE_COLORS = {
  mobile: "#2563eb",
  desktop: "#16a34a",
  tablet: "#f59e0b",
  bot: "#dc2626",
  other: "#94a3b8",
};
const SERIES = [
  ["visits", "Visits", "#2563eb"],
  ["clicks", "Clicks", "#16a34a"],
  ["purchases", "Purchases", "#f59e0b"],
  ["entries", "Entries", "#9333ea"],
];
// Live updates redraw at once: no animation to wait for, and screenshots are stable.
const COMMON = { animation: false, responsive: true, maintainAspectRatio: false };

export function deviceChart(canvas) {
  return new Chart(canvas, {
    type: "pie",
    data: { labels: [], datasets: [{ data: [], backgroundColor: [] }] },
    options: { ...COMMON, plugins: { legend: { position: "right" } } },
  });
}

export function updateDeviceChart(chart, devices) {
  const shown = devices.filter((d) => d.unique_visitors > 0);
  chart.data.labels = shown.map((d) => d.device_type);
  chart.data.datasets[0].data = shown.map((d) => d.unique_visitors);
  chart.data.datasets[0].backgroundColor = shown.map((d) => DEVICE_COLORS[d.device_type]);
  chart.update();
}

export function newVsReturningChart(canvas) {
  return new Chart(canvas, {
    type: "pie",
    data: {
      labels: ["New", "Returning"],
      datasets: [{ data: [0, 0], backgroundColor: ["#0ea5e9", "#64748b"] }],
    },
    options: { ...COMMON, plugins: { legend: { position: "right" } } },
  });
}

export function updateNewVsReturningChart(chart, split) {
  chart.data.datasets[0].data = [split.new.visitors, split.returning.visitors];
  chart.update();
}

export function funnelChart(canvas) {
  return new Chart(canvas, {
    type: "bar",
    data: { labels: [], datasets: [{ label: "Visitors", data: [], backgroundColor: "#2563eb" }] },
    options: {
      ...COMMON,
      indexAxis: "y",
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

export function updateFunnelChart(chart, funnel, labels) {
  chart.data.labels = funnel.map((s) => labels[s.stage] ?? s.stage);
  chart.data.datasets[0].data = funnel.map((s) => s.visitors);
  chart.update();
}

export function timelineChart(canvas) {
  return new Chart(canvas, {
    type: "line",
    data: {
      labels: [],
      datasets: SERIES.map(([, label, color]) => ({
        label,
        data: [],
        borderColor: color,
        backgroundColor: color,
        pointRadius: 2,
        tension: 0.2,
      })),
    },
    options: {
      ...COMMON,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

export function updateTimelineChart(chart, timeline, intervalSeconds) {
  chart.data.labels = timeline.map((b) => bucketLabel(b.bucket_start, intervalSeconds));
  SERIES.forEach(([key], i) => {
    chart.data.datasets[i].data = timeline.map((b) => b[key]);
  });
  chart.update();
}
