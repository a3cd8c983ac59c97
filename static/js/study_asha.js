// The ASHA bracket board: one panel per bracket, one column per rung (plus the
// full length, and the short trials when there are any), each trial a chip
// coloured by what happened to it there, and each rung's current cutoff (the
// score a newcomer must beat to continue: the top 1/eta of the scores
// recorded at the rung so far, at least one). ASHA is asynchronous: a trial
// was ranked when it arrived, against the trials there then, so chips below
// today's cutoff may have continued.
// Short trials: handed fewer epochs than the full length (ASHA's backfill at
// the budget's end, hpopt.plan.full_length); never shown as full-length ones.
// A big study's board (model.overview.asha) shows the server's counts per
// rung, the top trials at each, and the open trials the page holds.
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

  const SHORT_TITLE = "short trials (budget end)";
  const SHORT_NOTE = "handed fewer epochs than the full length: when the budget could not pay for more, "
    + "idle workers got these shorter trials (backfill). Their scores come from fewer epochs.";

  // hpopt.plan.full_length: a trial handed the plan's max_iterations
  const isShort = (trial, plan) => trial.iterations !== undefined && trial.iterations < plan.max_iterations;

  function cutoff(scores, eta, sign) {
    if (!scores.length) return null;
    const signed = scores.map((s) => sign * s).sort((a, b) => b - a);
    const quota = Math.max(1, Math.floor(signed.length / eta));
    return { value: sign * signed[quota - 1], quota, reached: signed.length, eta };
  }

  // The cutoff in words: asynchronous promotion, as ASHA decides it.
  function cutoffTitle(cut, sign) {
    return `Now: the top ${cut.quota} of the ${cut.reached} trials that have reached this rung (1/${cut.eta}). `
      + `A trial arriving now continues if its score is ${sign > 0 ? "at least" : "at most"} ${hp.num(cut.value, 3)}. `
      + "ASHA decides when a trial arrives, against the trials that reached the rung so far: "
      + "trials that arrived early were ranked against fewer, so some continued (green) below this line.";
  }

  // the trials ticked in the table (model.selected), marked on their chips as in the charts
  let selected = new Set();

  function chip(trial, fate, score, extra) {
    const title = Object.entries(trial.params || {}).map(([k, v]) => `${k}=${hp.paramValue(v)}`).join("  ");
    const length = fate === "short" ? ` · short: ${trial.last_iteration} epoch${trial.last_iteration === 1 ? "" : "s"}` : "";
    const picked = selected.has(trial.number);
    return hp.el("a", { class: "tchip c-" + fate + (picked ? " selected" : ""), href: `/trials/${trial.id}/`, title: `trial #${trial.number} · ${trial.state}${length}${picked ? " · selected" : ""}\n${title}`,
      "data-trial": trial.number, "data-selected": picked ? "1" : null },
      hp.el("span", { class: "tnum" }, "#" + trial.number),
      hp.el("span", { class: "tscore" }, score === null || score === undefined ? extra || "" : hp.num(score, 3)));
  }

  // What a column's chips show and rank by, named in its head: a rung's the
  // score at its epoch (what ASHA ranked there); the full length's the final
  // score (the latest report: what ranks the best config, hpopt.best).
  function scoreLabel(text) {
    const title = text === "final score" ? "the latest report's score: what ranks the best config"
      : "the score reported at the rung's epoch: what ASHA ranked there";
    return hp.el("span", { class: "score-label muted small", title }, text);
  }

  function column(key, title, sub, chips, cut, sign, label) {
    const body = hp.el("div", { class: "rung-body" });
    let rank = 0;
    chips.slice(0, MAX_CHIPS).forEach((c) => {
      if (c.recorded) {
        if (cut && rank === cut.quota) body.append(hp.el("div", { class: "cutline", title: cutoffTitle(cut, sign) }, "cutoff now"));
        rank += 1;
      }
      body.append(c.node);
    });
    if (chips.length > MAX_CHIPS) body.append(hp.el("div", { class: "more muted" }, `+${chips.length - MAX_CHIPS} more`));
    if (!chips.length) body.append(hp.el("div", { class: "muted small empty-rung" }, "—"));
    return hp.el("div", { class: "rung-col", "data-column": key, title: key === "short" ? SHORT_NOTE : null },
      hp.el("div", { class: "rung-head" }, hp.el("strong", {}, title), hp.el("span", { class: "muted" }, sub), scoreLabel(label),
        cut ? hp.el("span", { class: "cutoff", title: cutoffTitle(cut, sign) }, (sign > 0 ? "≥ " : "≤ ") + hp.num(cut.value, 3)) : null),
      body);
  }

  const epochsText = (list) => (list.length ? `at ${list.join(", ")} epoch${list.length === 1 && list[0] === 1 ? "" : "s"}` : "");

  // Fate at `m` of a top trial the server sent ([id, number, state, score, last_iteration]).
  function topFate([, , state, , last], m, next) {
    if (next !== null && last >= next) return "continued";
    if (state === "completed") return "completed";
    return fateAt({ state, rungs: { [m]: 0 } }, m);
  }

  function drawCounts(model, box) {
    const plan = model.study.plan;
    const trials = [...model.trials.values()];
    hp.clear(box);
    for (const b of model.overview.asha) {
      const steps = b.columns.map((c) => c.milestone);
      const cols = b.columns.map((c, j) => {
        const prev = j === 0 ? 0 : steps[j - 1];
        const next = j + 1 < steps.length ? steps[j + 1] : null;
        const climbing = trials.filter((t) => (t.bracket ?? 0) === b.bracket && ACTIVE.has(t.state) && t.last_iteration >= prev && t.last_iteration < c.milestone
          && (!isShort(t, plan) || c.milestone < t.iterations))
          .sort((a, b2) => b2.last_iteration - a.last_iteration).slice(0, MAX_CHIPS / 4)
          .map((t) => ({ node: chip(t, t.state === "paused" ? "paused" : t.state === "queued" ? "queued" : "running", null, `ep ${t.last_iteration}/${c.milestone}`), recorded: false }));
        const top = c.top.map((row) => ({ node: chip({ id: row[0], number: row[1], state: row[2] }, topFate(row, c.milestone, next), row[3]), recorded: true }));
        const counts = hp.el("div", { class: "rung-counts small" },
          hp.el("span", { "data-count": "reached" }, c.full ? `${c.reached} completed` : `${c.reached} reached`),
          c.full ? null : hp.el("span", { "data-count": "stopped" }, ` · ${c.stopped} stopped here`),
          c.climbing ? hp.el("span", { "data-count": "climbing" }, ` · ${c.climbing} training towards it`) : null);
        const column = hp.el("div", { class: "rung-col", "data-milestone": c.milestone, "data-column": c.full ? "full" : String(c.milestone) },
          hp.el("div", { class: "rung-head" }, hp.el("strong", {}, c.full ? `epoch ${c.milestone} · full` : `rung · epoch ${c.milestone}`), counts,
            scoreLabel(c.full ? "final score" : `score at epoch ${c.milestone}`)),
          hp.el("div", { class: "rung-body" }, climbing.map((x) => x.node), top.length ? hp.el("div", { class: "muted small" }, `top ${top.length}`) : null,
            top.map((x) => x.node), c.reached > top.length ? hp.el("div", { class: "more muted" }, `+${c.reached - top.length} more in the table`) : null,
            !climbing.length && !top.length ? hp.el("div", { class: "muted small empty-rung" }, "—") : null));
        return column;
      });
      const short = b.short || { completed: 0, epochs: [], top: [] };
      const running = trials.filter((t) => (t.bracket ?? 0) === b.bracket && ACTIVE.has(t.state) && isShort(t, plan)
        && !steps.some((m) => m > t.last_iteration && m < t.iterations));
      if (short.completed || running.length) {
        const chips = [
          ...running.map((t) => ({ node: chip(t, "running", null, `ep ${t.last_iteration}/${t.iterations}`), recorded: false })),
          ...short.top.map((row) => ({ node: chip({ id: row[0], number: row[1], state: row[2], last_iteration: row[4] }, "short", row[3]), recorded: true })),
        ];
        const col = column("short", SHORT_TITLE, `${short.completed} completed ${epochsText(short.epochs)}`, chips, null, 1, "final score");
        if (short.completed > short.top.length) col.querySelector(".rung-body").append(hp.el("div", { class: "more muted" }, `+${short.completed - short.top.length} more in the table`));
        cols.push(col);
      }
      box.append(hp.el("div", { class: "bracket" },
        hp.el("div", { class: "bracket-head" }, hp.el("strong", {}, `Bracket ${b.bracket}`),
          hp.el("span", { class: "muted" }, `${b.trials} trials · rungs ${b.milestones.join(", ") || "none"} · η ${plan.reduction_factor}`)),
        hp.el("div", { class: "rungs", style: { gridTemplateColumns: `repeat(${cols.length}, minmax(130px, 1fr))` } }, cols)));
    }
  }

  function draw(model) {
    const box = document.getElementById("brackets");
    if (!box) return;
    selected = model.selected || new Set();
    if (model.overview && model.overview.asha) {
      drawCounts(model, box);
      return;
    }
    const plan = model.study.plan;
    const sign = model.study.mode === "min" ? -1 : 1;
    const eta = plan.reduction_factor;
    const top = plan.max_iterations;
    const trials = [...model.trials.values()];
    // full-length and short trials rank by their final score (hpopt.best), those without one last
    const finalOf = (t) => (t.final_score ?? null);
    const rank = (t) => (finalOf(t) === null ? -Infinity : sign * finalOf(t));
    const byRank = (a, c) => (rank(a) === rank(c) ? 0 : rank(c) > rank(a) ? 1 : -1);
    hp.clear(box);
    plan.brackets.forEach((milestones, b) => {
      const members = trials.filter((t) => (t.bracket ?? 0) === b);
      const cols = [];
      const steps = [...milestones, top];
      steps.forEach((m, j) => {
        const prev = j === 0 ? 0 : steps[j - 1];
        const isTop = j === steps.length - 1;
        // trials training towards this milestone (a short trial only towards rungs below its own end)
        const climbing = members.filter((t) => ACTIVE.has(t.state) && t.last_iteration >= prev && t.last_iteration < m
          && (j === 0 || String(prev) in (t.rungs || {})) && (!isShort(t, plan) || m < t.iterations))
          .sort((a, b2) => b2.last_iteration - a.last_iteration)
          .map((t) => ({ node: chip(t, t.state === "paused" ? "paused" : t.state === "queued" ? "queued" : "running", null, `ep ${t.last_iteration}/${m}`), recorded: false }));
        let recorded;
        let cut = null;
        if (isTop) {
          const done = members.filter((t) => !isShort(t, plan) && (t.state === "completed" || (t.last_iteration >= m && finalOf(t) !== null)));
          recorded = done.sort(byRank)
            .map((t) => ({ node: chip(t, t.state === "completed" ? "completed" : fateAt(t, m), finalOf(t)), recorded: true }));
        } else {
          const at = members.filter((t) => String(m) in (t.rungs || {}));
          const scores = at.map((t) => t.rungs[String(m)]);
          cut = cutoff(scores, eta, sign);
          recorded = at.sort((a, c) => sign * (c.rungs[String(m)] - a.rungs[String(m)]))
            .map((t) => ({ node: chip(t, fateAt(t, m), t.rungs[String(m)]), recorded: true }));
        }
        const n = recorded.length;
        const sub = isTop ? `${n} completed` : `${n} reached`;
        cols.push(column(isTop ? "full" : String(m), isTop ? `epoch ${m} · full` : `rung · epoch ${m}`, sub, [...climbing, ...recorded], cut, sign,
          isTop ? "final score" : `score at epoch ${m}`));
      });
      // short trials: those training to their own end (no rung ahead of them) and those that ended
      const short = members.filter((t) => isShort(t, plan) && !(ACTIVE.has(t.state) && steps.some((m) => m > t.last_iteration && m < t.iterations)));
      if (short.length) {
        const open = short.filter((t) => ACTIVE.has(t.state))
          .map((t) => ({ node: chip(t, t.state === "paused" ? "paused" : t.state === "queued" ? "queued" : "running", null, `ep ${t.last_iteration}/${t.iterations}`), recorded: false }));
        const ended = short.filter((t) => !ACTIVE.has(t.state)).sort(byRank)
          .map((t) => ({ node: chip(t, t.state === "completed" ? "short" : t.state === "stopped" ? "stopped" : "ended", finalOf(t)), recorded: true }));
        const completed = short.filter((t) => t.state === "completed");
        const epochs = [...new Set(completed.map((t) => t.last_iteration))].sort((a, c) => a - c);
        cols.push(column("short", SHORT_TITLE, `${completed.length} completed ${epochsText(epochs)}`, [...open, ...ended], null, sign, "final score"));
      }
      box.append(hp.el("div", { class: "bracket" },
        hp.el("div", { class: "bracket-head" }, hp.el("strong", {}, `Bracket ${b}`),
          hp.el("span", { class: "muted" }, `${members.length} trial${members.length === 1 ? "" : "s"} · rungs ${milestones.join(", ") || "none"} · η ${eta}`)),
        hp.el("div", { class: "rungs", style: { gridTemplateColumns: `repeat(${cols.length}, minmax(130px, 1fr))` } }, cols)));
    });
  }

  return { draw, fateAt, cutoff };
})();
