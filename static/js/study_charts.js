// Charts of the study page (Chart.js): best so far, learning curves, and the
// Bayesian panel. Each draw* function takes the page's live model
// {study, trials: Map(number -> trial), curves: Map(number -> [[iteration, value]])}
// and updates its chart in place. Large studies are thinned before drawing;
// a big one (model.overview set) draws the server's aggregates instead: a
// sample of finished trials as dots, the best so far from per-bucket bests.
// The trials in model.selected are drawn on top: thick curves, marked dots.
"use strict";

const StudyCharts = (() => {
  const MAX_CURVES = 120;        // learning curves drawn at once
  const MAX_POINTS = 400;        // points per learning curve
  const MAX_DOTS = 3000;         // dots in a per-trial chart
  const FINISHED = new Set(["completed", "stopped", "killed", "failed", "lost"]);
  const SCORED = new Set(["completed", "stopped"]);
  const charts = {};
  let colors = hp.chartColors();   // the colour scheme's, from static/css/app.css

  // the best trial's curve is drawn in --chart-best: black on light, white on dark
  const BEST_WORD = () => (window.matchMedia("(prefers-color-scheme: dark)").matches ? "white" : "black");
  const better = (mode) => (a, b) => (mode === "min" ? a < b : a > b);

  function chart(id, config) {
    if (charts[id]) return charts[id];
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return null;
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }

  // A note over an empty chart ("no finished trial yet"); null removes it.
  function emptyNote(id, message) {
    const box = document.getElementById(id)?.parentElement;
    if (!box) return;
    if (message) box.dataset.empty = message;
    else delete box.dataset.empty;
  }

  // Keep every k-th item (and always the last); `keep` items are never dropped.
  function thin(items, max, keep = () => false) {
    if (items.length <= max) return items;
    const step = Math.ceil(items.length / max);
    return items.filter((item, i) => i % step === 0 || i === items.length - 1 || keep(item));
  }

  const integerTicks = { precision: 0, callback: (v) => (Number.isInteger(v) ? v : "") };
  // Log axes: label 1, 2 and 5 times a power of ten only.
  const logTicks = { autoSkip: true, maxRotation: 0, callback: (v) => ([1, 2, 5].includes(Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)))) ? hp.num(v, 2) : "") };
  const tooltipTitle = (items) => (items.length ? `trial #${items[0].raw.n}` : "");

  function scoredTrials(model) {
    if (model.overview) {
      return model.overview.sample.map(([number, score, state, params, iterations, hand_picked]) =>
        ({ number, best_score: score, state, params, iterations, hand_picked }));
    }
    return [...model.trials.values()].filter((t) => t.best_score !== null && FINISHED.has(t.state)).sort((a, b) => a.number - b.number);
  }

  // The best so far at the end of each bucket of trial numbers (rows: [first number, n, low, high, best scored]).
  function bestLine(model, isBetter) {
    const { size, rows } = model.overview.buckets;
    const line = [];
    let best = null;
    for (const [start, , , , scored] of rows) {
      if (scored !== null && (best === null || isBetter(scored, best))) best = scored;
      if (best !== null) line.push({ x: start + size - 1, y: best, n: null });
    }
    return line;
  }

  function drawBest(model) {
    const mode = model.study.mode;
    const isBetter = better(mode);
    const finished = scoredTrials(model);
    const full = model.study.plan.max_iterations;
    const dots = [];
    let line = [];
    let best = null;
    const improvedAt = new Set();   // trials that set a new best: never thinned away
    for (const t of finished) {
      // a short trial (hpopt.plan.full_length: fewer epochs than the full
      // length, ASHA's backfill) is a triangle: its score is not a full training's
      const short = t.iterations !== undefined && t.iterations !== null && t.iterations < full ? t.iterations : null;
      dots.push({ x: t.number, y: t.best_score, n: t.number, state: t.state, short, hand: Boolean(t.hand_picked) });
      if (SCORED.has(t.state) && (best === null || isBetter(t.best_score, best))) {
        best = t.best_score;
        improvedAt.add(t.number);
      }
      if (best !== null) line.push({ x: t.number, y: best, n: t.number });
    }
    if (model.overview) line = bestLine(model, isBetter);
    const hint = document.querySelector("#chart-best")?.closest(".chart-card")?.querySelector(".hint");
    const shorts = dots.some((d) => d.short !== null);
    if (hint) {
      hint.textContent = (model.overview ? `dots: ${dots.length} finished trials, evenly sampled` : "dots: each finished trial")
        + " · line: running best" + (shorts ? ` · ▲ short trials (budget end: fewer than ${full} epochs)` : "");
    }
    const improved = (d) => improvedAt.has(d.n);
    const c = chart("chart-best", {
      type: "scatter",
      data: { datasets: [
        { type: "line", label: "best so far (best epoch score)", data: [], borderColor: colors.accent, backgroundColor: colors.accentFill, stepped: true, pointRadius: 0, borderWidth: 2, fill: false, parsing: false },
        { label: "trial", data: [], pointRadius: 3, pointHoverRadius: 5, parsing: false, pointBackgroundColor: [], pointBorderColor: [] },
        { label: "selected", data: [], pointRadius: 7, pointHoverRadius: 8, parsing: false, pointStyle: "rectRot", pointBackgroundColor: Curves.SELECTED, pointBorderColor: "#111827", order: -1 },
      ] },
      options: {
        parsing: false,
        scales: { x: { type: "linear", title: { display: true, text: "trial" }, ticks: { precision: 0 } }, y: { title: { display: true, text: "best epoch score" } } },
        plugins: { tooltip: { callbacks: { title: tooltipTitle, label: (ctx) => `${ctx.dataset.label}: ${hp.num(ctx.raw.y)}${ctx.raw.state ? " (" + ctx.raw.state + (ctx.raw.short ? `, short trial: ${ctx.raw.short} of ${full} epochs` : "") + ")" : ""}${ctx.raw.hand ? " · hand-picked" : ""}` } } },
        onClick: (evt, elements) => openTrial(elements, evt.chart),
      },
    });
    if (!c) return;
    const shown = thin(dots, MAX_DOTS, improved);
    c.data.datasets[0].data = thin(line, MAX_DOTS);
    c.data.datasets[1].data = shown;
    c.data.datasets[1].pointBackgroundColor = shown.map((d) => colorOf(d.state, 0.75));
    c.data.datasets[1].pointBorderColor = shown.map((d) => colorOf(d.state, 1));
    // a hand-picked config (enqueued from the page or the API) is a star, a short trial a triangle
    c.data.datasets[1].pointStyle = shown.map((d) => (d.hand ? "star" : d.short ? "triangle" : "circle"));
    c.data.datasets[1].pointRadius = shown.map((d) => (d.hand ? 7 : d.short ? 5 : 3));
    c.data.datasets[1].pointBorderWidth = shown.map((d) => (d.hand ? 2 : 1));
    c.data.datasets[2].data = selectedPoints(model, (t) => t.number);
    c.update("none");
    emptyNote("chart-best", dots.length ? null : "no finished trial yet");
  }

  // The selected trials the page holds (their rows come with the poll), as {x, y, n}.
  function selectedPoints(model, x) {
    return [...(model.selected || [])].map((n) => model.trials.get(n))
      .filter((t) => t && t.best_score !== null && x(t) !== undefined && x(t) !== null)
      .map((t) => ({ x: x(t), y: t.best_score, n: t.number, state: t.state }));
  }

  function colorOf(state, alpha) {
    return withAlpha(hp.STATE_COLORS[state] || colors.muted, alpha);
  }

  // "#rrggbb" (how app.css writes its colours) at the given opacity
  function withAlpha(hex, alpha) {
    const v = parseInt(hex.slice(1), 16);
    return `rgba(${v >> 16}, ${(v >> 8) & 255}, ${v & 255}, ${alpha})`;
  }

  // A trial the page does not hold (a big study's sampled dot) opens through the table's search.
  function openTrial(elements, c) {
    if (!elements.length) return;
    const raw = c.data.datasets[elements[0].datasetIndex].data[elements[0].index];
    if (!raw || raw.n === null || raw.n === undefined || !window.studyModel) return;
    const trial = window.studyModel.trials.get(raw.n);
    if (trial) window.location.assign(`/trials/${trial.id}/`);
    else document.dispatchEvent(new CustomEvent("study:find-trial", { detail: raw.n }));
  }

  // Which curves to draw: every running trial, the best ones, then the newest.
  function pickCurves(model) {
    const isBetter = better(model.study.mode);
    const all = [...model.trials.values()].filter((t) => (model.curves.get(t.number) || []).length);
    if (all.length <= MAX_CURVES) return { picked: all, total: all.length };
    const selected = all.filter((t) => model.selected && model.selected.has(t.number));
    const running = all.filter((t) => t.state === "running" || t.state === "paused");
    const rest = all.filter((t) => !running.includes(t));
    const byScore = rest.filter((t) => t.best_score !== null).sort((a, b) => (isBetter(a.best_score, b.best_score) ? -1 : 1));
    const picked = new Set(selected);
    running.slice(0, MAX_CURVES / 2).forEach((t) => picked.add(t));
    byScore.slice(0, MAX_CURVES / 2).forEach((t) => picked.add(t));
    rest.sort((a, b) => b.number - a.number).forEach((t) => { if (picked.size < MAX_CURVES) picked.add(t); });
    return { picked: [...picked], total: all.length };
  }

  function drawCurves(model) {
    const canvas = document.getElementById("chart-curves");
    if (!canvas || !window.Chart) return;
    const c = charts["chart-curves"] || (charts["chart-curves"] = Curves.chart(canvas,
      { reset: document.getElementById("curves-reset"), log: document.getElementById("curves-log") },
      { onClick: (evt, elements) => openTrial(elements, evt.chart) }));
    const { picked, total } = pickCurves(model);
    const best = model.study.best ? model.study.best.trial : null;
    const chosen = model.selected || new Set();
    c.data.datasets = picked.sort((a, b) => a.number - b.number).map((t) => {
      const points = thin(model.curves.get(t.number), MAX_POINTS).map(([x, y]) => ({ x, y, n: t.number }));
      const mark = chosen.has(t.number) ? "selected" : t.number === best ? "best" : chosen.size ? "dim" : "";
      return {
        label: `#${t.number}`, data: points, parsing: false, trial: t.number, state: t.state,
        ...Curves.lineStyle(t, mark),
        pointRadius: points.length < 3 ? 2.5 : t.state === "running" ? 1.5 : 0, pointHoverRadius: 3,
      };
    });
    // a long study's mostly short curves start on a log epoch axis (Curves.prefersLog)
    Curves.autoLog(c, document.getElementById("curves-log"), picked.map((t) => model.curves.get(t.number).slice(-1)[0][0]));
    const starts = Curves.markers(picked, model.curves, model.attemptStarts || new Map());
    if (starts.data.length) c.data.datasets.push(starts);
    Curves.legend(document.getElementById("curves-legend"), new Set(picked.map((t) => t.state)), starts.data.length > 0);
    const note = document.getElementById("curves-note");
    const what = `${BEST_WORD()}: best trial${chosen.size ? " · thick: selected" : ""} · drag to zoom`;
    if (note) note.textContent = total > picked.length
      ? `${picked.length} of ${total} trials drawn (selected, running, best, newest) · ${what}`
      : `one line per trial · ${what}`;
    c.update("none");
    emptyNote("chart-curves", total ? null : "no score reported yet");
  }

  // -- Bayesian optimization ---------------------------------------------------------
  // Shades the random initial phase (trials before num_init_trial).
  const initPhase = {
    id: "initPhase",
    beforeDatasetsDraw(c, args, opts) {
      if (!opts || opts.until === undefined) return;
      const x = c.scales.x;
      const right = Math.min(x.getPixelForValue(opts.until - 0.5), c.chartArea.right);
      if (right <= c.chartArea.left) return;
      const ctx = c.ctx;
      ctx.save();
      ctx.fillStyle = colors.shade;
      ctx.fillRect(c.chartArea.left, c.chartArea.top, right - c.chartArea.left, c.chartArea.bottom - c.chartArea.top);
      ctx.fillStyle = colors.muted;
      ctx.font = "11px " + Chart.defaults.font.family;
      if (right - c.chartArea.left > 44) ctx.fillText("random", c.chartArea.left + 4, c.chartArea.top + 12);
      ctx.restore();
    },
  };

  function kappaAt(settings, registered) {
    return settings.kappa * Math.pow(settings.kappa_decay, Math.max(0, registered - settings.kappa_decay_delay));
  }

  function drawBayes(model) {
    const s = model.study.settings;
    const init = s.num_init_trial;
    const planned = model.study.plan.num_trials;
    const finished = scoredTrials(model);
    const note = document.getElementById("bayes-note");
    if (note) note.textContent = `first ${init} trials random, then GP-UCB · kappa ${s.kappa}${s.kappa_decay < 1 ? ` × ${s.kappa_decay}/trial after ${s.kappa_decay_delay}` : ""}`;
    const scores = chart("chart-bo-scores", {
      type: "scatter",
      data: { datasets: [
        { label: "random", data: [], parsing: false, pointBackgroundColor: withAlpha(colors.muted, 0.7), pointRadius: 3 },
        { label: "Bayesian", data: [], parsing: false, pointBackgroundColor: withAlpha(colors.accent, 0.8), pointRadius: 3 },
        { label: "hand-picked", data: [], parsing: false, pointStyle: "star", pointRadius: 7, borderColor: "#d97706", pointBorderWidth: 2 },
        { label: "selected", data: [], parsing: false, pointRadius: 7, pointHoverRadius: 8, pointStyle: "rectRot", pointBackgroundColor: Curves.SELECTED, pointBorderColor: "#111827", order: -1 },
      ] },
      options: {
        parsing: false,
        scales: { x: { type: "linear", min: -0.5, title: { display: true, text: "trial" }, ticks: integerTicks }, y: { title: { display: true, text: "best epoch score" } } },
        plugins: { initPhase: { until: init }, legend: { display: true, position: "bottom", labels: { boxWidth: 8, usePointStyle: true } },
          tooltip: { callbacks: { title: tooltipTitle, label: (ctx) => hp.num(ctx.raw.y) } } },
        onClick: (evt, elements) => openTrial(elements, evt.chart),
      },
      plugins: [initPhase],
    });
    if (scores) {
      const pts = finished.map((t) => ({ x: t.number, y: t.best_score, n: t.number, hand: Boolean(t.hand_picked) }));
      const sampled = pts.filter((p) => !p.hand);
      scores.data.datasets[0].data = thin(sampled.filter((p) => p.x < init), MAX_DOTS);
      scores.data.datasets[1].data = thin(sampled.filter((p) => p.x >= init), MAX_DOTS);
      scores.data.datasets[2].data = pts.filter((p) => p.hand);
      // the trials ticked in the table, drawn as in the other charts
      scores.data.datasets[3].data = selectedPoints(model, (t) => (FINISHED.has(t.state) ? t.number : null));
      scores.options.scales.x.max = Math.max(planned, 1) - 0.5;
      scores.update("none");
      emptyNote("chart-bo-scores", pts.length ? null : "no finished trial yet");
    }
    const kappa = chart("chart-kappa", {
      type: "line",
      data: { datasets: [
        { label: "kappa", data: [], parsing: false, borderColor: "#0891b2", pointRadius: 0, borderWidth: 2, stepped: true },
        { label: "now", data: [], parsing: false, type: "scatter", pointRadius: 5, pointBackgroundColor: "#0891b2" },
      ] },
      options: {
        parsing: false,
        scales: { x: { type: "linear", min: -0.5, title: { display: true, text: "trial" }, ticks: integerTicks }, y: { beginAtZero: true, title: { display: true, text: "kappa (UCB exploration)" } } },
        plugins: { initPhase: { until: init }, tooltip: { callbacks: { title: (items) => (items.length ? `trial #${items[0].raw.x}` : ""), label: (ctx) => `kappa ${hp.num(ctx.raw.y)}` } } },
      },
      plugins: [initPhase],
    });
    if (kappa) {
      // Trial k is suggested with about k trials registered with the optimizer
      // (finished ones, and running ones as "constant liars"): kappa_at(k).
      const line = [];
      const step = Math.max(1, Math.ceil(planned / 500));
      for (let k = init; k < planned; k += step) line.push({ x: k, y: kappaAt(s, k) });
      if (planned > init) line.push({ x: planned - 1, y: kappaAt(s, planned - 1) });
      const next = Object.values(model.study.counts || {}).reduce((a, b) => a + b, 0);
      kappa.data.datasets[0].data = line;
      kappa.data.datasets[1].data = next >= init && next < planned ? [{ x: next, y: kappaAt(s, next) }] : [];
      kappa.options.scales.x.max = Math.max(planned, 1) - 0.5;
      kappa.update("none");
      emptyNote("chart-kappa", planned > init ? null : `all ${planned} trials are random (num_init_trial = ${init})`);
    }
    drawParamScatters(model, finished);
  }

  function drawParamScatters(model, finished) {
    const grid = document.getElementById("param-scatters");
    if (!grid) return;
    const space = model.study.search_space || {};
    const best = model.study.best ? model.study.best.trial : null;
    const pts = thin(finished, MAX_DOTS, (t) => t.number === best);
    for (const [name, spec] of Object.entries(space)) {
      const id = "scatter-" + [...name].map((ch) => ch.charCodeAt(0).toString(16)).join("");
      if (!document.getElementById(id)) {
        grid.append(hp.el("div", { class: "scatter" }, hp.el("h4", { title: `${spec.type} ${JSON.stringify(spec.range)}` }, name, hp.el("span", { class: "muted" }, " " + spec.type)),
          hp.el("div", { class: "chart small" }, hp.el("canvas", { id, "aria-label": `score against ${name}` }))));
      }
      const isChoice = spec.type === "choice";
      const labels = isChoice ? spec.range.map((v) => hp.paramValue(v)) : null;
      // Choices sit at 0..n-1 on a linear axis (jittered so equal values don't hide each other).
      const c = chart(id, {
        type: "scatter",
        data: { datasets: [{ data: [], parsing: false, pointRadius: 3, pointBackgroundColor: [] },
          { label: "selected", data: [], parsing: false, pointRadius: 7, pointStyle: "rectRot", pointBackgroundColor: Curves.SELECTED, pointBorderColor: "#111827", order: -1 }] },
        options: {
          parsing: false,
          scales: {
            x: isChoice
              ? { type: "linear", min: -0.5, max: labels.length - 0.5, afterBuildTicks: (axis) => { axis.ticks = labels.map((_, i) => ({ value: i })); },
                  ticks: { callback: (v) => labels[v] ?? "", autoSkip: true, maxRotation: 0 } }
              : spec.type.endsWith("loguniform")
                ? { type: "logarithmic", min: spec.range[0], max: spec.range[1], ticks: logTicks }
                : { type: "linear", min: spec.range[0], max: spec.range[1], ticks: { maxTicksLimit: 6, maxRotation: 0, callback: (v) => hp.num(Math.abs(v) < 1e-12 ? 0 : v, 2) } },
            y: { ticks: { maxTicksLimit: 5 } },
          },
          plugins: { tooltip: { callbacks: { title: tooltipTitle, label: (ctx) => `${name} = ${isChoice ? labels[Math.round(ctx.raw.x)] : hp.num(ctx.raw.x)} → ${hp.num(ctx.raw.y)}` } } },
          onClick: (evt, elements) => openTrial(elements, evt.chart),
        },
      });
      if (!c) continue;
      const jitter = (n) => ((n * 0.618034) % 1 - 0.5) * 0.4;
      const data = pts.filter((t) => t.params && name in t.params).map((t) => ({
        x: isChoice ? spec.range.findIndex((v) => v === t.params[name]) + jitter(t.number) : t.params[name], y: t.best_score, n: t.number,
      }));
      const newest = pts.length ? pts[pts.length - 1].number : 0;
      c.data.datasets[0].data = data;
      c.data.datasets[0].pointBackgroundColor = data.map((d) => (d.n === best ? "#dc2626" : withAlpha(colors.accent, 0.25 + 0.65 * (newest ? d.n / newest : 1))));
      c.data.datasets[0].pointRadius = data.map((d) => (d.n === best ? 5 : 3));
      c.data.datasets[1].data = selectedPoints(model, (t) => (t.params && name in t.params
        ? (isChoice ? spec.range.findIndex((v) => v === t.params[name]) + jitter(t.number) : t.params[name]) : null));
      c.update("none");
      emptyNote(id, data.length ? null : "no finished trial yet");
    }
  }

  // The reader switched light/dark: the charts are made again in the new colours.
  document.addEventListener("hp:scheme", () => {
    colors = hp.chartColors();
    Object.keys(charts).forEach((id) => { charts[id].destroy(); delete charts[id]; });
    const model = window.studyModel;
    if (!model || !model.study) return;
    drawBest(model);
    drawCurves(model);
    if (model.study.algorithm !== "asha") drawBayes(model);
  });

  return { drawBest, drawCurves, drawBayes, FINISHED };
})();
