// The study page's Analysis section: parameter importance, parallel
// coordinates (brushing an axis filters the trial table), a slice per
// parameter and a contour of two parameters. Everything is aggregated on the
// server (GET /api/studies/<id>/analysis and .../analysis/contour) from a
// bounded sample at one fidelity; it is fetched when the section opens and
// on "Recompute", never on the page's polls. The table (study.js) reads the
// brushes through StudyAnalysis.tableFilters() and requeries on the
// "study:requery" event.
"use strict";

const StudyAnalysis = (() => {
  const root = document.getElementById("study");
  const box = document.getElementById("analysis");
  const $ = (id) => document.getElementById(id);
  const state = { data: null, brushes: new Map(), drag: null, loading: false, contourToken: 0, selected: new Set() };
  // trials ticked in the table (study.js's "study:selection"): drawn in this colour, on top
  const SELECTED = "#db2777";
  const charts = {};
  const SCORE = "__score__";

  // -- colours: the scheme's (app.css; the score scale in analysis.css), read once per scheme --
  let palette = null;
  const rgbOf = (hex) => { const h = hex.trim().replace("#", ""); return [0, 2, 4].map((k) => parseInt(h.slice(k, k + 2), 16)); };
  const rgba = (rgb, alpha) => `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`;
  function colors() {
    if (palette) return palette;
    const c = hp.chartColors();
    const scale = getComputedStyle(document.documentElement).getPropertyValue("--chart-scale").trim();
    const stops = (scale || "#a89400, #3f9a4a, #21918c, #3b528b, #440154").split(",").map(rgbOf);
    const light = (rgb) => rgb[0] * 0.2126 + rgb[1] * 0.7152 + rgb[2] * 0.0722;
    // worst to best: darker stops win on white, brighter ones on the dark scheme's card
    palette = { ...c, stops, better: light(stops[stops.length - 1]) > light(stops[0]) ? "brighter" : "darker" };
    return palette;
  }
  function colorAt(t, alpha = 1) {
    const stops = colors().stops;
    const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    return rgba(stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v))), alpha);
  }
  // 0 for the worst score, 1 for the best
  function goodness(score, low, high, mode) {
    const t = high > low ? (score - low) / (high - low) : 0.5;
    return mode === "min" ? 1 - t : t;
  }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    const canvas = $(id);
    charts[id] = canvas && window.Chart ? new Chart(canvas, config) : null;
    return charts[id];
  }

  function emptyNote(id, message) {
    const parent = $(id)?.parentElement;
    if (!parent) return;
    if (message) parent.dataset.empty = message;
    else delete parent.dataset.empty;
  }

  // -- axes: values to 0..1 and back ----------------------------------------------------
  function scoreRange(lines) {
    let low = Infinity, high = -Infinity;
    for (const [, s] of lines) { low = Math.min(low, s); high = Math.max(high, s); }
    return low <= high ? [low, high] : [0, 1];
  }

  // The score the section plots, as studies/analysis/data.py chose it: each trial's final
  // score at full length, its score at an ASHA rung, or (a Bayesian study without enough
  // trials at full length) its best score at whatever length it stopped.
  function scoreName(fidelity) {
    return fidelity.kind === "full" ? "final score" : fidelity.kind === "rung" ? `score at epoch ${fidelity.iteration}` : "best score";
  }

  // A numeric choice's axis places its values in order (the space may list 64, 16, 32), so
  // that a brush holds a range of them.
  function ranked(axis) {
    if (axis.scale !== "category" || !axis.numeric) return axis;
    const rank = [];
    axis.categories.map((c, i) => [Number(c), i]).sort((p, q) => p[0] - q[0]).forEach(([, i], r) => { rank[i] = r; });
    return { ...axis, rank };
  }

  function axesOf(data) {
    const axes = data.axes.map(ranked);
    axes.push({ name: SCORE, scale: "linear", range: scoreRange(data.lines), numeric: true, score: true });
    return axes;
  }

  function toUnit(axis, v) {
    if (v === null || v === undefined) return null;
    if (axis.scale === "category") return axis.categories.length > 1 ? (axis.rank ? axis.rank[v] : v) / (axis.categories.length - 1) : 0.5;
    const [lo, hi] = axis.range;
    if (axis.scale === "log") return (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1);
    return (v - lo) / (hi - lo || 1);
  }

  function fromUnit(axis, t) {
    const [lo, hi] = axis.range;
    if (axis.scale === "log") return Math.pow(10, Math.log10(lo) + t * (Math.log10(hi) - Math.log10(lo)));
    return lo + t * (hi - lo);
  }

  function axisTitle(axis) {
    if (axis.score) return [scoreName(state.data.fidelity), ""];
    return [axis.name, axis.scale === "log" ? "log" : axis.scale === "category" ? "choice" : ""];
  }

  // Tick labels of one axis: [[unit position, text], ...]
  function ticksOf(axis) {
    if (axis.scale === "category") return axis.categories.map((c, i) => [toUnit(axis, i), c]);
    if (axis.scale === "log") {
      const [lo, hi] = axis.range.map(Math.log10);
      const out = [];
      for (let e = Math.ceil(lo - 1e-9); e <= hi + 1e-9; e++) out.push([(e - lo) / (hi - lo || 1), hp.num(Math.pow(10, e), 2)]);
      if (out.length < 2) return [[0, hp.num(axis.range[0], 3)], [1, hp.num(axis.range[1], 3)]];
      return out;
    }
    return [0, 0.5, 1].map((t) => [t, hp.num(fromUnit(axis, t), 3)]);
  }

  // -- parallel coordinates -------------------------------------------------------------
  function inBrushes(values) {
    for (const [i, [a, b]] of state.brushes) {
      const v = values[i];
      if (v === null || v < a - 1e-9 || v > b + 1e-9) return false;
    }
    return true;
  }

  // Draws the axes, their ticks and the brushes over the lines.
  const axesPlugin = {
    id: "parcoordsAxes",
    afterDatasetsDraw(c) {
      const axes = c.$axes;
      if (!axes) return;
      const { top, bottom } = c.chartArea;
      const ctx = c.ctx;
      const ink = colors();
      ctx.save();
      ctx.font = "10.5px " + Chart.defaults.font.family;
      axes.forEach((axis, i) => {
        const x = c.scales.x.getPixelForTick(i);
        ctx.strokeStyle = ink.muted;
        ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
        const brush = state.brushes.get(i) || (state.drag && state.drag.axis === i ? state.drag.range : null);
        if (brush) {
          const y0 = bottom - brush[1] * (bottom - top), y1 = bottom - brush[0] * (bottom - top);
          ctx.fillStyle = ink.accentFill; ctx.strokeStyle = ink.accent;
          ctx.fillRect(x - 8, y0, 16, y1 - y0); ctx.strokeRect(x - 8, y0, 16, y1 - y0);
        }
        ctx.fillStyle = ink.text;
        ctx.textAlign = i === axes.length - 1 ? "right" : "left";
        for (const [t, text] of ticksOf(axis)) ctx.fillText(text, x + (i === axes.length - 1 ? -4 : 4), bottom - t * (bottom - top) + 3);
      });
      ctx.restore();
    },
  };

  function drawParcoords() {
    const data = state.data;
    const axes = axesOf(data);
    const [low, high] = axes[axes.length - 1].range;
    const c = chart("chart-parcoords", {
      type: "line",
      data: { labels: axes.map(axisTitle), datasets: [] },
      options: {
        parsing: false, normalized: true, events: [],
        layout: { padding: { left: 8, right: 8, top: 8 } },
        scales: { x: { type: "category", offset: false, grid: { display: false }, ticks: { font: { weight: 600 } } },
                  y: { min: -0.02, max: 1.02, display: false } },
        plugins: { tooltip: { enabled: false } },
        elements: { point: { radius: 0 }, line: { borderWidth: 1, tension: 0 } },
      },
      plugins: [axesPlugin],
    });
    if (!c) return;
    c.$axes = axes;
    const rows = data.lines.map(([number, score, values]) => {
      const unit = [...values.map((v, i) => toUnit(axes[i], v)), toUnit(axes[axes.length - 1], score)];
      return { number, score, unit };
    });
    // the best lines drawn last (on top)
    rows.sort((a, b) => goodness(a.score, low, high, data.mode) - goodness(b.score, low, high, data.mode));
    c.$rows = rows;
    c.data.datasets = rows.map((r) => ({
      label: `#${r.number}`, data: r.unit.map((y, i) => ({ x: i, y })), spanGaps: false,
      borderColor: colorAt(goodness(r.score, low, high, data.mode), 0.75),
    }));
    restyleLines();
    emptyNote("chart-parcoords", rows.length ? null : "no trial at this fidelity yet");
  }

  function restyleLines() {
    const c = charts["chart-parcoords"];
    if (!c || !c.$rows) return;
    const [low, high] = c.$axes[c.$axes.length - 1].range;
    c.$rows.forEach((r, k) => {
      const inside = inBrushes(r.unit);
      const picked = state.selected.has(r.number);
      c.data.datasets[k].borderColor = picked ? SELECTED : inside ? colorAt(goodness(r.score, low, high, state.data.mode), 0.75) : colors().grid;
      c.data.datasets[k].borderWidth = picked ? 3 : 1;
      c.data.datasets[k].order = picked ? -1 : inside ? 0 : 1;
    });
    c.update("none");
    const shown = c.$rows.filter((r) => inBrushes(r.unit)).length;
    $("analysis-status").textContent = state.brushes.size ? `${shown} of ${c.$rows.length} lines inside the brushes` : statusText();
  }

  // Pointer on the canvas: press near an axis and drag to brush it; a click clears it.
  function axisAt(c, x) {
    if (!c || !c.$axes) return -1;
    let best = -1, dist = 16;
    c.$axes.forEach((_, i) => { const d = Math.abs(c.scales.x.getPixelForTick(i) - x); if (d < dist) { dist = d; best = i; } });
    return best;
  }

  function unitAt(c, y) {
    const { top, bottom } = c.chartArea;
    return Math.min(1, Math.max(0, (bottom - y) / (bottom - top)));
  }

  function pointer(event) {
    const rect = event.target.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  $("chart-parcoords").addEventListener("pointerdown", (event) => {
    const c = charts["chart-parcoords"];
    const [x, y] = pointer(event);
    const axis = axisAt(c, x);
    if (axis < 0 || y < c.chartArea.top - 6 || y > c.chartArea.bottom + 6) return;
    event.preventDefault();
    event.target.setPointerCapture(event.pointerId);
    state.drag = { axis, start: unitAt(c, y), range: null };
  });
  $("chart-parcoords").addEventListener("pointermove", (event) => {
    const c = charts["chart-parcoords"];
    if (!state.drag || !c) return;
    const t = unitAt(c, pointer(event)[1]);
    state.drag.range = [Math.min(t, state.drag.start), Math.max(t, state.drag.start)];
    c.draw();
  });
  $("chart-parcoords").addEventListener("pointerup", () => {
    const drag = state.drag;
    state.drag = null;
    if (!drag) return;
    if (!drag.range || drag.range[1] - drag.range[0] < 0.01) state.brushes.delete(drag.axis);
    else state.brushes.set(drag.axis, drag.range);
    brushed();
  });

  function brushed() {
    restyleLines();
    renderBrushChips();
    document.dispatchEvent(new CustomEvent("study:requery"));
  }

  // The trial table's filters for the score the axis plots (studies/trial_table.py): the
  // final score is coalesce(last, best), the best score is the best epoch's. A rung's score
  // has none, and the table cannot be filtered by trial numbers either (q matches one): such a
  // brush filters the lines only and its chip says so, rather than filter the table by a score
  // the axis does not show.
  const SCORE_FILTERS = { full: ["final_score_min", "final_score_max"], any: ["score_min", "score_max"] };
  // a brush around no value: a filter no trial passes
  const NOTHING = [["score_min", "1e308"]];

  // What one brush asks of the trial table and says on its chip: {filter: [[key, value], ...], text}.
  function brushOf(axis, [a, b]) {
    const within = (t) => t >= a - 1e-9 && t <= b + 1e-9;
    const range = (keys, lo, hi, what) => ({ filter: keys ? [[keys[0], String(lo)], [keys[1], String(hi)]] : [],
                                             text: `${what} ${hp.num(lo, 3)} – ${hp.num(hi, 3)}` });
    if (axis.score) {
      const kind = state.data.fidelity.kind;
      const out = range(SCORE_FILTERS[kind], fromUnit(axis, a), fromUnit(axis, b), scoreName(state.data.fidelity));
      if (!SCORE_FILTERS[kind]) out.text += " (lines only: the table has no filter by a rung's score)";
      return out;
    }
    if (axis.scale === "category") {
      const picked = axis.categories.map((_, i) => i).filter((i) => within(toUnit(axis, i)));
      const inside = picked.map((i) => axis.categories[i]);
      if (!inside.length) return { filter: NOTHING, text: `${axis.name}: none` };
      // the choices' own values as a JSON array: exact for a text with a comma, or "None" beside none
      if (!axis.numeric) return { filter: [[`param.${axis.name}.in`, JSON.stringify(picked.map((i) => axis.values[i]))]], text: `${axis.name}: ${inside.join(", ")}` };
      const values = inside.map(Number);
      return range([`param.${axis.name}.min`, `param.${axis.name}.max`], Math.min(...values), Math.max(...values), axis.name);
    }
    return range([`param.${axis.name}.min`, `param.${axis.name}.max`], fromUnit(axis, a), fromUnit(axis, b), axis.name);
  }

  function tableFilters() {
    const c = charts["chart-parcoords"];
    if (!c || !c.$axes) return [];
    return [...state.brushes].flatMap(([i, range]) => brushOf(c.$axes[i], range).filter);
  }

  function renderBrushChips() {
    const c = charts["chart-parcoords"];
    const list = hp.clear($("parcoords-brushes"));
    for (const [i, range] of state.brushes) {
      const axis = c.$axes[i];
      list.append(hp.el("span", { class: "brush-chip", "data-axis": axis.name }, brushOf(axis, range).text,
        hp.el("button", { type: "button", title: "clear this brush", onclick: () => { state.brushes.delete(i); brushed(); } }, "×")));
    }
  }

  // -- importance ---------------------------------------------------------------------
  function drawImportance() {
    const imp = state.data.importance;
    $("importance-method").textContent = "Method: " + imp.method + ".";
    $("importance-note").textContent = imp.note || "Each bar: the share of the score's (rank) variance that the parameter alone explains; what the bars leave is interactions and noise.";
    const c = chart("chart-importance", {
      type: "bar",
      data: { labels: imp.params.map((p) => p.name), datasets: [{ data: imp.params.map((p) => 100 * p.explained), backgroundColor: colors().accent, borderRadius: 3 }] },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, suggestedMax: 10, title: { display: true, text: "% of score variance explained" } }, y: { ticks: { font: { family: "monospace" } } } },
        plugins: { tooltip: { callbacks: { label: (ctx) => `${hp.num(ctx.raw, 3)}% of the variance · ${hp.num(100 * imp.params[ctx.dataIndex].share, 3)}% of the parameters' total` } } },
      },
    });
    emptyNote("chart-importance", imp.params.length ? null : imp.note);
    return c;
  }

  // -- slices -------------------------------------------------------------------------
  const logTicks = { maxRotation: 0, callback: (v) => ([1, 2, 5].includes(Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)))) ? hp.num(v, 2) : "") };

  function xScale(axis) {
    if (axis.scale === "category") {
      const labels = axis.categories;
      return { type: "linear", min: -0.5, max: labels.length - 0.5, afterBuildTicks: (a) => { a.ticks = labels.map((_, i) => ({ value: i })); },
               ticks: { callback: (v) => labels[v] ?? "", autoSkip: true, maxRotation: 0 } };
    }
    if (axis.scale === "log") return { type: "logarithmic", min: axis.range[0], max: axis.range[1], ticks: logTicks };
    return { type: "linear", min: axis.range[0], max: axis.range[1], ticks: { maxTicksLimit: 6, maxRotation: 0, callback: (v) => hp.num(v, 2) } };
  }

  function binCentre(axis, slice, i) {
    if (axis.scale === "category") return i;
    const [a, b] = [slice.edges[i], slice.edges[i + 1]];
    return axis.scale === "log" ? Math.sqrt(a * b) : (a + b) / 2;
  }

  function drawSlices() {
    const data = state.data;
    const ink = colors();
    const grid = hp.clear($("slice-grid"));
    data.axes.forEach((axis, k) => {
      const id = "slice-" + k;
      grid.append(hp.el("div", { class: "scatter", "data-param": axis.name },
        hp.el("h4", {}, axis.name, hp.el("span", { class: "muted" }, ` ${axis.type}${axis.scale === "log" ? " · log axis" : ""}`)),
        hp.el("div", { class: "chart small" }, hp.el("canvas", { id, "aria-label": `slice of ${axis.name}` }))));
      const jitter = (n) => ((n * 0.618034) % 1 - 0.5) * 0.4;
      const points = data.lines.filter(([, , v]) => v[k] !== null).map(([n, s, v]) => ({ x: axis.scale === "category" ? v[k] + jitter(n) : v[k], y: s, n }));
      const slice = data.slices[axis.name];
      const means = slice.bins.map(([i, mean, count]) => ({ x: binCentre(axis, slice, i), y: mean, count }));
      chart(id, {
        type: "scatter",
        data: { datasets: [
          { label: "mean per bin", type: "line", data: means, borderColor: ink.best, backgroundColor: ink.best, pointRadius: 2.5, borderWidth: 2, order: 0 },
          { label: "trial", data: points, pointRadius: 2.5, backgroundColor: rgba(rgbOf(ink.accent), 0.5), order: 1 },
          { label: "selected", data: points.filter((p) => state.selected.has(p.n)), pointRadius: 5, backgroundColor: SELECTED, order: -1 },
        ] },
        options: {
          parsing: false,
          scales: { x: xScale(axis), y: { title: { display: true, text: scoreName(data.fidelity) }, ticks: { maxTicksLimit: 5 } } },
          plugins: { tooltip: { callbacks: { label: (ctx) => (ctx.datasetIndex === 0 ? `mean ${hp.num(ctx.raw.y)} of ${ctx.raw.count} trials` : `trial #${ctx.raw.n}: ${hp.num(ctx.raw.y)}`) } } },
        },
      });
      emptyNote(id, points.length ? null : "no trial at this fidelity yet");
    });
  }

  // -- contour ------------------------------------------------------------------------
  const heatPlugin = {
    id: "heatCells",
    beforeDatasetsDraw(c) {
      const cells = c.$cells;
      if (!cells) return;
      const { x, y } = c.scales;
      const ctx = c.ctx;
      ctx.save();
      for (const cell of cells) {
        const x0 = x.getPixelForValue(cell.x - 0.5), x1 = x.getPixelForValue(cell.x + 0.5);
        const y0 = y.getPixelForValue(cell.y + 0.5), y1 = y.getPixelForValue(cell.y - 0.5);
        ctx.fillStyle = cell.color;
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
      }
      ctx.restore();
    },
  };

  function indexScale(axis) {
    const labels = axis.labels;
    return { type: "linear", min: -0.5, max: labels.length - 0.5, title: { display: true, text: axis.name },
             afterBuildTicks: (a) => { a.ticks = labels.map((_, i) => ({ value: i })); },
             ticks: { callback: (v) => labels[v] ?? "", autoSkip: true, maxRotation: 0 }, grid: { display: false } };
  }

  async function loadContour() {
    const x = $("contour-x").value, y = $("contour-y").value;
    if (!x || !y || x === y) {
      $("contour-note").textContent = state.data && state.data.axes.length < 2 ? "A contour needs two parameters." : "Pick two different parameters.";
      return;
    }
    // answers arrive out of order when the pickers change quickly: only the latest is drawn
    const token = ++state.contourToken;
    const result = await hp.api(`/api/studies/${root.dataset.id}/analysis/contour?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}`);
    if (token !== state.contourToken) return;
    if (!result.ok) { $("contour-note").textContent = hp.errorText(result); return; }
    const body = result.data;
    const name = scoreName(body.fidelity);
    const means = body.cells.map((c) => c[2]);
    const low = Math.min(...means), high = Math.max(...means);
    const cells = body.cells.map(([i, j, mean, count]) => ({ x: i, y: j, mean, count, color: colorAt(goodness(mean, low, high, body.mode), 0.9) }));
    const c = chart("chart-contour", {
      type: "scatter",
      data: { datasets: [{ data: cells, pointRadius: 0, pointHitRadius: 14 },
                         { label: "selected", data: [], pointRadius: 5, backgroundColor: SELECTED, borderColor: "#fff", borderWidth: 1.5 }] },
      options: {
        parsing: false,
        scales: { x: indexScale(body.x), y: indexScale(body.y) },
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.datasetIndex === 1 ? `trial #${ctx.raw.n} (selected)` : `${body.x.name} ${body.x.labels[ctx.raw.x]}, ${body.y.name} ${body.y.labels[ctx.raw.y]}: mean ${name} ${hp.num(ctx.raw.mean)} (${ctx.raw.count} trials)` } } },
      },
      plugins: [heatPlugin],
    });
    if (c) { c.$cells = cells; c.$pair = body; markContour(); }
    $("chart-contour").dataset.pair = `${body.x.name},${body.y.name}`;
    $("contour-note").textContent = cells.length
      ? `Mean ${name} per cell, ${hp.num(low, 4)} to ${hp.num(high, 4)} (${colors().better}: better); empty cells: no trial there. ${body.fidelity.used} trials at ${body.fidelity.label}.`
      : "No trial at this fidelity yet.";
    emptyNote("chart-contour", cells.length ? null : "no trial yet");
  }

  // Where a trial sits on the contour's cell axes (a cell per index; numeric
  // parameters between their edges, in log space for a log axis).
  function cellPosition(bins, axis, value) {
    if (value === null || value === undefined) return null;
    if (!bins.edges) return value;   // a choice: lines carry its index
    const f = axis.scale === "log" ? Math.log10 : (v) => v;
    const lo = f(bins.edges[0]), hi = f(bins.edges[bins.edges.length - 1]);
    const n = bins.edges.length - 1;
    return hi > lo ? ((f(value) - lo) / (hi - lo)) * n - 0.5 : (n - 1) / 2;
  }

  function markContour() {
    const c = charts["chart-contour"];
    if (!c || !c.$pair || !state.data) return;
    const axes = state.data.axes;
    const kx = axes.findIndex((a) => a.name === c.$pair.x.name), ky = axes.findIndex((a) => a.name === c.$pair.y.name);
    c.data.datasets[1].data = state.data.lines.filter(([n]) => state.selected.has(n)).map(([n, , v]) => ({
      x: cellPosition(c.$pair.x, axes[kx], v[kx]), y: cellPosition(c.$pair.y, axes[ky], v[ky]), n,
    })).filter((p) => p.x !== null && p.y !== null);
    c.update("none");
  }

  // The table's selection changed: every chart of the section marks the ticked trials.
  function highlight() {
    if (!state.data) return;
    restyleLines();
    state.data.axes.forEach((_, k) => {
      const c = charts["slice-" + k];
      if (!c) return;
      c.data.datasets[2].data = c.data.datasets[1].data.filter((p) => state.selected.has(p.n));
      c.update("none");
    });
    markContour();
  }
  document.addEventListener("study:selection", (event) => {
    state.selected = new Set(event.detail || []);
    highlight();
  });

  function fillContourPickers() {
    const data = state.data;
    const names = data.axes.map((a) => a.name);
    const ranked = data.importance.params.map((p) => p.name);
    const order = [...ranked, ...names.filter((n) => !ranked.includes(n))];
    for (const [id, pick] of [["contour-x", order[0]], ["contour-y", order[1]]]) {
      const select = $(id);
      const keep = names.includes(select.value) ? select.value : pick;
      hp.clear(select);
      names.forEach((n) => select.append(hp.el("option", { value: n }, n)));
      if (keep !== undefined) select.value = keep;
    }
  }
  ["contour-x", "contour-y"].forEach((id) => $(id).addEventListener("change", loadContour));

  // -- loading ------------------------------------------------------------------------
  function statusText() {
    const f = state.data.fidelity;
    return `computed on ${f.used} trials at ${f.label}` + (f.sampled ? ` (an even sample of its ${f.trials})` : "");
  }

  async function load() {
    if (state.loading) return;
    state.loading = true;
    $("analysis-status").textContent = "computing…";
    const result = await hp.api(`/api/studies/${root.dataset.id}/analysis`);
    state.loading = false;
    if (!result.ok) { $("analysis-status").textContent = hp.errorText(result); return; }
    const hadBrushes = state.brushes.size > 0;
    state.data = result.data;
    state.brushes.clear();
    $("analysis-fidelity").textContent = statusText();
    $("analysis-status").textContent = statusText();
    box.dataset.loaded = "1";
    draw();
    fillContourPickers();
    await loadContour();
    if (hadBrushes) document.dispatchEvent(new CustomEvent("study:requery"));
  }

  function draw() {
    const name = scoreName(state.data.fidelity);
    $("parcoords-note").textContent = `One line per trial, coloured by its ${name} (${colors().better}: better). Drag along an axis to filter the trial table; click the axis to clear it.`;
    $("slices-note").textContent = `The ${name} against each parameter: the trials, and the mean per bin of the parameter (line).`;
    drawImportance();
    drawParcoords();
    renderBrushChips();
    drawSlices();
  }

  // the reader switched the colour scheme (common.js): every chart again in its colours
  document.addEventListener("hp:scheme", () => {
    palette = null;
    if (!state.data) return;
    draw();
    loadContour();
  });

  box.addEventListener("toggle", () => { if (box.open && !state.data) load(); });
  $("analysis-refresh").addEventListener("click", load);

  // for the tests and the console: where an axis is drawn, in page pixels
  function axisBox(name) {
    const c = charts["chart-parcoords"];
    const i = c.$axes.findIndex((a) => a.name === name || (name === "score" && a.score));
    const rect = c.canvas.getBoundingClientRect();
    return { x: rect.left + c.scales.x.getPixelForTick(i), top: rect.top + c.chartArea.top, bottom: rect.top + c.chartArea.bottom };
  }

  return { tableFilters, load, axisBox, colorAt, colors };
})();
