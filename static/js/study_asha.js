// The ASHA bracket board: one panel per bracket, one column per rung (plus the
// full length), each trial a chip coloured by what happened to it there, and
// each rung's current cutoff (the score a newcomer must beat to continue:
// the top 1/eta of the scores recorded at the rung, at least one).
"use strict";

const AshaBoard = (() => {
  const MAX_CHIPS = 48;
  const ACTIVE = new Set(["running", "queued", "paused"]);
  const ENDED = new Set(["killed", "failed", "lost"]);

  function rungsOf(trial) {
    return Object.keys(trial.rungs || {}).map(Number).sort((a, b) => a - b);
  }

  // What happened to `trial` at `milestone`, where it recorded a score: it
  // continued, unless this is its last rung and the algorithm stopped it
  // there (or it was killed / failed / lost after it).
  function fateAt(trial, milestone) {
    const reached = rungsOf(trial);
    if (milestone < reached[reached.length - 1]) return "continued";
    if (trial.state === "stopped") return "stopped";
    if (ENDED.has(trial.state)) return "ended";
    return "continued";
  }

  function cutoff(scores, eta, sign) {
    if (!scores.length) return null;
    const signed = scores.map((s) => sign * s).sort((a, b) => b - a);
    const quota = Math.max(1, Math.floor(signed.length / eta));
    return { value: sign * signed[quota - 1], quota };
  }

  function chip(trial, fate, score, extra) {
    const title = Object.entries(trial.params || {}).map(([k, v]) => `${k}=${hp.paramValue(v)}`).join("  ");
    return hp.el("a", { class: "tchip c-" + fate, href: `/trials/${trial.id}/`, title: `trial #${trial.number} · ${trial.state}\n${title}`, "data-trial": trial.number },
      hp.el("span", { class: "tnum" }, "#" + trial.number),
      hp.el("span", { class: "tscore" }, score === null || score === undefined ? extra || "" : hp.num(score, 3)));
  }

  function column(title, sub, chips, cut, sign) {
    const body = hp.el("div", { class: "rung-body" });
    let rank = 0;
    chips.slice(0, MAX_CHIPS).forEach((c) => {
      if (c.recorded) {
        if (cut && rank === cut.quota) body.append(hp.el("div", { class: "cutline", title: "above: the top 1/η at this rung" }, "cutoff"));
        rank += 1;
      }
      body.append(c.node);
    });
    if (chips.length > MAX_CHIPS) body.append(hp.el("div", { class: "more muted" }, `+${chips.length - MAX_CHIPS} more`));
    if (!chips.length) body.append(hp.el("div", { class: "muted small empty-rung" }, "—"));
    return hp.el("div", { class: "rung-col" },
      hp.el("div", { class: "rung-head" }, hp.el("strong", {}, title), hp.el("span", { class: "muted" }, sub),
        cut ? hp.el("span", { class: "cutoff", title: `a trial must rank in the top ${cut.quota} here to continue` }, (sign > 0 ? "≥ " : "≤ ") + hp.num(cut.value, 3)) : null),
      body);
  }

  function draw(model) {
    const box = document.getElementById("brackets");
    if (!box) return;
    const plan = model.study.plan;
    const sign = model.study.mode === "min" ? -1 : 1;
    const eta = plan.reduction_factor;
    const top = plan.max_iterations;
    const trials = [...model.trials.values()];
    hp.clear(box);
    plan.brackets.forEach((milestones, b) => {
      const members = trials.filter((t) => (t.bracket ?? 0) === b);
      const cols = [];
      const steps = [...milestones, top];
      steps.forEach((m, j) => {
        const prev = j === 0 ? 0 : steps[j - 1];
        const isTop = j === steps.length - 1;
        // trials training towards this milestone
        const climbing = members.filter((t) => ACTIVE.has(t.state) && t.last_iteration >= prev && t.last_iteration < m
          && (j === 0 || String(prev) in (t.rungs || {})))
          .sort((a, b2) => b2.last_iteration - a.last_iteration)
          .map((t) => ({ node: chip(t, t.state === "paused" ? "paused" : t.state === "queued" ? "queued" : "running", null, `ep ${t.last_iteration}/${m}`), recorded: false }));
        let recorded;
        let cut = null;
        if (isTop) {
          const done = members.filter((t) => t.state === "completed" || (t.last_iteration >= m && t.best_score !== null));
          recorded = done.sort((a, c) => sign * (c.best_score - a.best_score))
            .map((t) => ({ node: chip(t, t.state === "completed" ? "completed" : fateAt(t, m), t.best_score), recorded: true }));
        } else {
          const at = members.filter((t) => String(m) in (t.rungs || {}));
          const scores = at.map((t) => t.rungs[String(m)]);
          cut = cutoff(scores, eta, sign);
          recorded = at.sort((a, c) => sign * (c.rungs[String(m)] - a.rungs[String(m)]))
            .map((t) => ({ node: chip(t, fateAt(t, m), t.rungs[String(m)]), recorded: true }));
        }
        const n = recorded.length;
        const sub = isTop ? `${n} completed` : `${n} reached`;
        cols.push(column(isTop ? `epoch ${m} · full` : `rung · epoch ${m}`, sub, [...climbing, ...recorded], cut, sign));
      });
      box.append(hp.el("div", { class: "bracket" },
        hp.el("div", { class: "bracket-head" }, hp.el("strong", {}, `Bracket ${b}`),
          hp.el("span", { class: "muted" }, `${members.length} trial${members.length === 1 ? "" : "s"} · rungs ${milestones.join(", ") || "none"} · η ${eta}`)),
        hp.el("div", { class: "rungs", style: { gridTemplateColumns: `repeat(${steps.length}, minmax(130px, 1fr))` } }, cols)));
    });
  }

  return { draw, fateAt, cutoff };
})();
