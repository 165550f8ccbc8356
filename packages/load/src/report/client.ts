/**
 * The script a report page runs in the browser: draws every chart of the embedded data with uPlot
 * (gridlines, units on the axes, values in the legend on hover, drag to zoom, double-click to reset,
 * threshold lines, event markers) and sorts a table by a clicked header. Plain ES2017, no imports.
 */
export const REPORT_CLIENT_JS = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  function fixed(v, d) { return (Math.round(v * Math.pow(10, d)) / Math.pow(10, d)).toString(); }
  function fmt(unit, v) {
    if (v === null || v === undefined || isNaN(v)) return "-";
    switch (unit) {
      case "s": return Math.abs(v) < 1 ? fixed(v * 1000, Math.abs(v) < 0.01 ? 1 : 0) + " ms" : fixed(v, 2) + " s";
      case "ratio": return fixed(v * 100, Math.abs(v) < 0.1 ? 2 : 1) + "%";
      case "bps": return Math.abs(v) >= 1e6 ? fixed(v / 1e6, 2) + " Mb/s" : fixed(v / 1e3, 0) + " kb/s";
      // under two minutes in seconds (a zoomed axis needs tenths), then m:ss
      case "time":
        if (Math.abs(v) < 120) return fixed(v, 1) + " s";
        var m = Math.floor(v / 60), s = Math.round(v - m * 60); return m + ":" + (s < 10 ? "0" : "") + s;
      case "t0": return v === 0 ? "T0" : (v > 0 ? "+" : "-") + fixed(Math.abs(v), Math.abs(v) < 10 ? 1 : 0) + " s";
      default: return fixed(v, 1);
    }
  }
  var COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
  function overlay(u, spec) {
    var ctx = u.ctx, b = u.bbox, px = devicePixelRatio || 1;
    ctx.save();
    ctx.font = (11 * px) + "px system-ui, sans-serif";
    ctx.lineWidth = 1.5 * px;
    // a label over bars or lines is read on a pale box of its own (a histogram's p95 and p99 sat
    // on its tallest bars and on each other)
    function label(text, x, y, align) {
      var w = ctx.measureText(text).width;
      var left = align === "right" ? x - w : x;
      var colour = ctx.fillStyle;
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(left - 2 * px, y - 10 * px, w + 4 * px, 13 * px);
      ctx.fillStyle = colour;
      ctx.textAlign = align;
      ctx.fillText(text, x, y);
    }
    spec.lines.forEach(function (l) {
      var y = u.valToPos(l.value, "y", true);
      if (y < b.top || y > b.top + b.height) return;
      ctx.strokeStyle = l.color; ctx.fillStyle = l.color; ctx.setLineDash([6 * px, 4 * px]);
      ctx.beginPath(); ctx.moveTo(b.left, y); ctx.lineTo(b.left + b.width, y); ctx.stroke();
      label(l.label, b.left + b.width - 4 * px, y - 4 * px, "right");
    });
    spec.markers.forEach(function (m, i) {
      var x = u.valToPos(m.x, "x", true);
      if (x < b.left - 1 || x > b.left + b.width + 1) return;
      ctx.strokeStyle = m.color; ctx.fillStyle = m.color; ctx.setLineDash([2 * px, 3 * px]);
      ctx.beginPath(); ctx.moveTo(x, b.top); ctx.lineTo(x, b.top + b.height); ctx.stroke();
      // near the right edge the label goes to the line's left, where it can be read
      var right = x > b.left + b.width * 0.8;
      label(m.label, x + (right ? -3 : 3) * px, b.top + (12 + (i % 3) * 14) * px, right ? "right" : "left");
    });
    ctx.restore();
  }
  function draw(spec) {
    var el = document.querySelector('[data-chart="' + spec.id + '"]');
    if (!el) return;
    var bars = spec.kind === "bars";
    var top = spec.lines.reduce(function (a, l) { return Math.max(a, l.value); }, 0);
    var series = [{ label: spec.xUnit === "time" || spec.xUnit === "t0" ? "time" : "value", value: function (u, v) { return fmt(spec.xUnit, v); } }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label, stroke: s.color, width: 2, spanGaps: false,
        fill: bars ? s.color + "99" : undefined,
        paths: bars ? uPlot.paths.bars({ size: [0.92, 80] }) : undefined,
        points: { show: !bars && spec.x.length < 40 },
        value: function (u, v) { return fmt(spec.yUnit, v); }
      });
    });
    var opts = {
      width: Math.max(320, el.clientWidth || 560), height: 240,
      scales: {
        // a histogram spans its bins' edges, not their centres (auto-ranging only: a zoom is kept)
        x: spec.xRange ? { time: false, range: function (u, min, max) {
          var auto = min === spec.x[0] && max === spec.x[spec.x.length - 1];
          return auto ? [spec.xRange[0], spec.xRange[1]] : [min, max];
        } } : { time: false },
        y: { range: function (u, min, max) { var hi = Math.max(max || 0, top) * 1.12; return [Math.min(0, min || 0), hi > 0 ? hi : 1]; } }
      },
      axes: [
        { grid: { show: true, stroke: "#e3e7ee" }, values: function (u, ticks) { return ticks.map(function (t) { return fmt(spec.xUnit, t); }); } },
        { grid: { show: true, stroke: "#e3e7ee" }, size: 70, incrs: spec.yUnit === "count" ? COUNT_STEPS : undefined, values: function (u, ticks) { return ticks.map(function (t) { return fmt(spec.yUnit, t); }); } }
      ],
      series: series,
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        draw: [function (u) { overlay(u, spec); }],
        // the visible x range on the element, for whoever drives the page (the e2e test's zoom)
        setScale: [function (u, key) { if (key === "x") { el.setAttribute("data-x-min", String(u.scales.x.min)); el.setAttribute("data-x-max", String(u.scales.x.max)); } }]
      }
    };
    var columns = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    el.uplot = new uPlot(opts, columns, el);
  }
  data.charts.forEach(draw);
  function key(td) { var v = td.getAttribute("data-v"); if (v === null || v === "") return null; var n = Number(v); return isNaN(n) ? v : n; }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("th");
    heads.forEach(function (th, col) {
      if (!th.hasAttribute("data-sort")) return;
      th.addEventListener("click", function () {
        var desc = th.classList.contains("sorted-desc") ? false : th.classList.contains("sorted-asc") ? true : th.getAttribute("data-sort") === "desc";
        heads.forEach(function (h) { h.classList.remove("sorted-desc", "sorted-asc"); });
        th.classList.add(desc ? "sorted-desc" : "sorted-asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x === null) return y === null ? 0 : 1;
          if (y === null) return -1;
          var c = x < y ? -1 : x > y ? 1 : 0;
          return desc ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
`;
