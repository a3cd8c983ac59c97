// Learning-curve helpers shared by the study page and the compare page
// (Chart.js has no zoom plugin vendored, so the x range zoom is here):
// a line style per trial state (stopped, killed, failed stay distinguishable:
// a dash pattern each, never a fade), the legend of those styles, a linear /
// log epoch axis (log by default where most curves are short: prefersLog),
// drag-to-zoom on the epoch range with a reset, and the markers where a
// trial's later attempts began (a resume, a re-run).
"use strict";

const Curves = (() => {
  // The trial's colour tells trials apart; the dash tells its state.
  const STYLES = {
    running: { dash: [], width: 2, alpha: 0.95, text: "running" },
    queued: { dash: [4, 3], width: 1.5, alpha: 0.85, text: "queued" },
    paused: { dash: [4, 3], width: 1.5, alpha: 0.85, text: "paused" },
    completed: { dash: [], width: 1.4, alpha: 0.85, text: "completed" },
    stopped: { dash: [7, 4], width: 1.3, alpha: 0.7, text: "stopped early" },
    killed: { dash: [2, 3], width: 1.6, alpha: 0.85, text: "killed" },
    failed: { dash: [1, 2], width: 1.6, alpha: 0.85, text: "failed" },
    lost: { dash: [9, 3, 2, 3], width: 1.4, alpha: 0.8, text: "lost" },
  };
  const SELECTED = "#db2777";
  const hue = (n) => (n * 137.508) % 360;
  // the scheme's lightness and best-trial colour (common.js reads them from the CSS: dark mode),
  // read once per scheme: every line of every redraw asks for them
  let kept = null;
  const scheme = () => kept || (kept = typeof hp !== "undefined" && hp.chartColors ? hp.chartColors() : {});
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { kept = null; });
  const colorOf = (n, alpha = 1) => `hsla(${hue(n)}, 62%, ${scheme().lightness || "45%"}, ${alpha})`;

  function styleOf(state) {
    return STYLES[state] || STYLES.completed;
  }

  // Chart.js dataset options of trial `t`'s line. `mark`: "best", "selected",
  // "dim" (another trial is selected) or "". A selected trial keeps its own
  // colour (two selected trials stay two lines), drawn thick and on top.
  function lineStyle(t, mark = "") {
    const s = styleOf(t.state);
    return {
      borderColor: mark === "best" ? (scheme().best || "#111827") : colorOf(t.number, mark === "selected" ? 1 : mark === "dim" ? s.alpha * 0.35 : s.alpha),
      borderWidth: mark === "selected" ? 3.5 : mark === "best" ? 2.5 : s.width,
      borderDash: s.dash,
      order: mark === "selected" ? 0 : mark === "best" ? 1 : 2,
    };
  }

  // The legend of the styles: a sample line per state present, and the attempt marker.
  function legend(box, states, withMarkers) {
    if (!box) return;
    hp.clear(box);
    for (const state of Object.keys(STYLES).filter((s) => states.has(s))) {
      const s = STYLES[state];
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("width", "26");
      svg.setAttribute("height", "8");
      const line = document.createElementNS("http://www.w3.org/2000/svg", "line");
      Object.entries({ x1: 1, y1: 4, x2: 25, y2: 4, stroke: "#475569", "stroke-width": Math.max(1.5, s.width), "stroke-dasharray": s.dash.join(" ") })
        .forEach(([k, v]) => line.setAttribute(k, String(v)));
      svg.append(line);
      box.append(hp.el("span", { class: "curve-key", "data-state": state }, svg, " " + s.text));
    }
    if (withMarkers) box.append(hp.el("span", { class: "curve-key", "data-state": "attempt" }, hp.el("span", { class: "tri" }, "▲"), " attempt began (resumed / re-run)"));
  }

  // Log axes: 1, 2 and 5 times a power of ten.
  const logLabel = (v) => ([1, 2, 5].includes(Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)))) ? hp.num(v, 2) : "");

  function setLog(c, log) {
    const x = c.options.scales.x;
    x.type = log ? "logarithmic" : "linear";
    x.ticks = log ? { autoSkip: true, maxRotation: 0, callback: logLabel } : { precision: 0, maxRotation: 0 };
    // a zoom's range is kept; a log axis cannot start at 0
    if (log && x.min !== undefined && x.min <= 0) x.min = 1;
    c.update("none");
  }

  // The epoch axis curves start on. Log when most curves are short next to
  // the longest: half of them end at a tenth of its length or before, and it
  // is at least 20 epochs long (an ASHA study of 120 epochs whose trials
  // mostly stop at its first rungs: on a linear axis they crowd into the
  // first few percent of it). Linear otherwise.
  function prefersLog(lengths) {
    if (lengths.length < 2) return false;
    const sorted = [...lengths].sort((a, b) => a - b);
    const longest = sorted[sorted.length - 1];
    return longest >= 20 && sorted[Math.floor((sorted.length - 1) / 2)] * 10 <= longest;
  }

  // Applies prefersLog(lengths) to chart `c` and its toggle, until the reader uses the toggle.
  function autoLog(c, toggle, lengths) {
    if (!toggle || toggle.dataset.chosen) return;
    const log = prefersLog(lengths);
    if (log === toggle.checked) return;
    toggle.checked = log;
    setLog(c, log);
  }

  // Drag across the plot to show that epoch range; `reset` (a button) shows
  // the whole range again and is hidden while nothing is zoomed.
  function zoom(c, reset) {
    const canvas = c.canvas;
    const wrap = canvas.parentElement;
    wrap.style.position = "relative";
    const band = hp.el("div", { class: "zoom-band", hidden: true });
    wrap.append(band);
    let from = null;
    let dragged = false;
    const xOf = (event) => event.clientX - canvas.getBoundingClientRect().left;
    canvas.addEventListener("pointerdown", (event) => {
      const x = xOf(event);
      if (event.button !== 0 || x < c.chartArea.left || x > c.chartArea.right) return;
      from = x;
      dragged = false;
    });
    canvas.addEventListener("pointermove", (event) => {
      if (from === null) return;
      const x = Math.min(Math.max(xOf(event), c.chartArea.left), c.chartArea.right);
      if (Math.abs(x - from) < 4) return;
      dragged = true;
      Object.assign(band.style, { left: Math.min(x, from) + "px", width: Math.abs(x - from) + "px", top: c.chartArea.top + "px", height: (c.chartArea.bottom - c.chartArea.top) + "px" });
      band.hidden = false;
    });
    window.addEventListener("pointerup", (event) => {
      if (from === null) return;
      const start = from;
      from = null;
      band.hidden = true;
      if (!dragged) return;
      const x = Math.min(Math.max(xOf(event), c.chartArea.left), c.chartArea.right);
      const a = c.scales.x.getValueForPixel(Math.min(x, start));
      const b = c.scales.x.getValueForPixel(Math.max(x, start));
      if (!(b > a)) return;
      c.options.scales.x.min = a;
      c.options.scales.x.max = b;
      c.update("none");
      if (reset) reset.hidden = false;
    });
    // the click that ends a drag opens no trial (listened before Chart.js's own)
    wrap.addEventListener("click", (event) => { if (dragged) { event.stopPropagation(); dragged = false; } }, true);
    if (reset) {
      reset.hidden = true;
      reset.addEventListener("click", () => {
        delete c.options.scales.x.min;
        delete c.options.scales.x.max;
        c.update("none");
        reset.hidden = true;
      });
    }
  }

  // One scatter dataset of triangles: where each later attempt of the drawn
  // trials began. starts: Map(number -> [[attempt, epoch, how the one before ended], ...]).
  function markers(trials, curves, starts) {
    const data = [];
    for (const t of trials) {
      const curve = curves.get(t.number) || [];
      for (const [attempt, epoch, before] of starts.get(t.number) || []) {
        const point = curve.find((p) => p[0] === epoch);
        if (point) data.push({ x: epoch, y: point[1], n: t.number, attempt, before });
      }
    }
    return {
      type: "scatter", label: "attempt began", data, parsing: false, order: -1,
      pointStyle: "triangle", pointRadius: 6, pointHoverRadius: 8,
      pointBackgroundColor: data.map((d) => colorOf(d.n, 0.9)), pointBorderColor: "#111827", pointBorderWidth: 1,
    };
  }

  // A learning-curve chart (epoch against the score each epoch reported),
  // with the zoom and the log toggle wired to `tools` ({reset, log}: elements).
  function chart(canvas, tools, extra = {}) {
    const c = new Chart(canvas, {
      type: "line",
      data: { datasets: [] },
      options: {
        parsing: false, normalized: true,
        interaction: { mode: "nearest", intersect: false },
        scales: { x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } }, y: { title: { display: true, text: "score reported at each epoch" } } },
        plugins: {
          legend: extra.legend || { display: false },
          tooltip: { callbacks: { title: (items) => (items.length ? `trial #${items[0].raw.n}` : ""), label: (ctx) => (ctx.raw.attempt ? markerLabel(ctx.raw) : `epoch ${ctx.raw.x}: ${hp.num(ctx.raw.y)}`) } },
        },
        onClick: extra.onClick,
      },
    });
    zoom(c, tools.reset);
    if (tools.log) tools.log.addEventListener("change", () => { tools.log.dataset.chosen = "1"; setLog(c, tools.log.checked); });
    return c;
  }

  const markerLabel = (raw) => `attempt ${raw.attempt} began at epoch ${raw.x} (the one before: ${raw.before})`;

  return { STYLES, SELECTED, colorOf, styleOf, lineStyle, legend, setLog, prefersLog, autoLog, zoom, markers, markerLabel, chart };
})();
