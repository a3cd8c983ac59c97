// Compare trials: GET /api/studies/<id>/compare?trials=3,7,9 (this page's own
// query), drawn once: a table with a column per trial (state, final and best
// epoch scores, epochs, duration, attempts, then every param; the params that
// differ marked ≠) and their curves overlaid (Curves: state dashes, log axis,
// zoom, where later attempts began).
"use strict";

(() => {
  const root = document.getElementById("compare");
  const $ = (id) => document.getElementById(id);
  const wanted = new URLSearchParams(location.search).get("trials") || "";

  function row(label, trials, cell, attrs = {}) {
    return hp.el("tr", attrs, hp.el("th", { class: attrs.class || null }, label),
      trials.map((t) => hp.el("td", { class: ["num", attrs.class || ""].join(" ").trim(), "data-trial": t.number }, cell(t))));
  }

  function renderTable(data) {
    const trials = data.trials;
    const head = hp.clear(document.querySelector("#compare-table thead"));
    head.append(hp.el("tr", {}, hp.el("th", {}, ""), trials.map((t) =>
      hp.el("th", { class: "num", "data-trial": t.number }, hp.el("a", { href: `/trials/${t.id}/` }, `#${t.number}`), " ", hp.badge(t.state)))));
    const body = hp.clear(document.querySelector("#compare-table tbody"));
    const mode = data.study.mode;
    const scored = trials.filter((t) => t.final_score !== null).map((t) => t.final_score);
    const top = scored.length ? (mode === "min" ? Math.min(...scored) : Math.max(...scored)) : null;
    body.append(
      row("Final score", trials, (t) => [hp.num(t.final_score, 5), t.final_score === top && trials.length > 1 ? " ★" : ""], { "data-row": "final" }),
      row("Best epoch score", trials, (t) => hp.num(t.best_epoch_score, 5), { "data-row": "best-epoch" }),
      row("Best epoch", trials, (t) => (t.best_epoch === null ? "—" : String(t.best_epoch)), { "data-row": "best-epoch-at" }),
      row("Epochs", trials, (t) => `${t.last_iteration} / ${t.iterations}`),
      row("Duration", trials, (t) => (t.duration_seconds === null ? "—" : hp.duration(t.duration_seconds))),
      row("Attempts", trials, (t) => String(t.attempts)),
      row("Stop reason", trials, (t) => t.stop_reason || "—"),
    );
    const differing = new Set(data.differing);
    for (const name of data.params) {
      const differs = differing.has(name);
      const tr = row(name, trials, (t) => (name in t.params ? hp.paramValue(t.params[name]) : "—"),
        { "data-param": name, class: differs ? "differs" : "" });
      if (differs) tr.querySelector("th").append(hp.el("span", { class: "diff-mark", title: "differs between these trials" }, "≠"));
      body.append(tr);
    }
  }

  function drawCurves(data) {
    const c = Curves.chart($("chart-compare"), { reset: $("curves-reset"), log: $("curves-log") }, {
      legend: { display: true, position: "bottom", labels: { boxWidth: 24, boxHeight: 2, filter: (item) => item.text !== "attempt began" } },
    });
    const curves = new Map(data.trials.map((t) => [t.number, t.curve]));
    c.data.datasets = data.trials.map((t) => ({
      label: `#${t.number} (${t.state})`, data: t.curve.map(([x, y]) => ({ x, y, n: t.number })), parsing: false,
      trial: t.number, state: t.state, ...Curves.lineStyle(t), borderColor: Curves.colorOf(t.number, 0.9),
      borderWidth: Math.max(2, Curves.styleOf(t.state).width), pointRadius: t.curve.length < 3 ? 3 : 0,
    }));
    const starts = Curves.markers(data.trials, curves, new Map(data.trials.map((t) => [t.number, t.attempt_starts])));
    if (starts.data.length) c.data.datasets.push(starts);
    c.update("none");
    Curves.legend($("curves-legend"), new Set(data.trials.map((t) => t.state)), starts.data.length > 0);
  }

  async function load() {
    const result = await hp.api(`/api/studies/${root.dataset.study}/compare?trials=${encodeURIComponent(wanted)}`);
    $("compare-error").hidden = result.ok;
    if (!result.ok) {
      $("compare-error").textContent = hp.errorText(result);
      return;
    }
    document.title = `Compare trials ${result.data.trials.map((t) => "#" + t.number).join(", ")} · hpopt`;
    renderTable(result.data);
    drawCurves(result.data);
  }

  load();
})();
