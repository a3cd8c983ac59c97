// Study page: polls GET /api/studies/<id>?since=<cursor> every 2 s while the
// study can change, merges the changed trials and new scores into one model,
// and redraws the header, charts (study_charts.js), the ASHA board
// (study_asha.js) and the trial table. Controls POST with the CSRF token.
// The table is a page of GET /api/studies/<id>/trials: the server sorts,
// filters and pages it. A big study's model holds only its open trials and
// the curves worth drawing; the charts and the board draw the server's
// aggregates (model.overview), refreshed every OVERVIEW_EVERY polls. Rows
// ticked in the table (model.selected) are highlighted in every chart, their
// whole curves asked for with the poll (curves=), and compared side by side.
"use strict";

(() => {
  const root = document.getElementById("study");
  const studyId = root.dataset.id;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const PAGE = 50;
  const OVERVIEW_EVERY = 15;
  const LIVE = new Set(["running", "paused"]);
  const ENDED = new Set(["completed", "killed", "failed"]);
  const model = { study: null, trials: new Map(), curves: new Map(), cursor: "", overview: null,
    // trials ticked in the table (numbers), highlighted in every chart; the
    // poll asks for their whole curves (curves=) until it has them
    selected: new Set(), wholeCurves: new Set(), allCurves: false, attemptStarts: new Map() };
  const MOST_SELECTED = 50;
  window.studyModel = model;
  let poller = null;
  let polls = 0;
  // resolved by the first answer: what a click asks about may need the study's figures
  let studyLoaded;
  const firstLoad = new Promise((resolve) => { studyLoaded = resolve; });

  // -- merging the cursor's answer --------------------------------------------------
  function merge(data) {
    const first = model.study === null;
    model.study = data.study;
    studyLoaded();
    for (const t of data.trials) model.trials.set(t.number, t);
    for (const [number, iteration, value] of data.scores) {
      let curve = model.curves.get(number);
      if (!curve) model.curves.set(number, (curve = []));
      const last = curve[curve.length - 1];
      if (!last || last[0] < iteration) curve.push([iteration, value]);
      else {
        // a re-run replaces an iteration's score: keep the curve sorted and unique
        const i = curve.findIndex((p) => p[0] >= iteration);
        if (curve[i][0] === iteration) curve[i][1] = value;
        else curve.splice(i, 0, [iteration, value]);
      }
    }
    model.cursor = data.cursor;
    if ("overview" in data) model.overview = data.overview;
    for (const [n, starts] of Object.entries(data.attempt_starts || {})) model.attemptStarts.set(Number(n), starts);
    if (first) {
      // the first load sends whole curves: all of them, or those of the trials it picked
      model.allCurves = data.scores_complete;
      data.scores.forEach(([n]) => model.wholeCurves.add(n));
    }
    return data.trials.length > 0 || data.scores.length > 0 || "overview" in data;
  }

  async function refresh() {
    polls += 1;
    let url = `/api/studies/${studyId}`;
    if (model.cursor) url += `?since=${encodeURIComponent(model.cursor)}` + (model.overview && polls % OVERVIEW_EVERY === 0 ? "&overview=1" : "");
    const need = model.allCurves ? [] : [...model.selected].filter((n) => !model.wholeCurves.has(n));
    if (need.length) url += (model.cursor ? "&" : "?") + "curves=" + need.join(",");
    const result = await hp.api(url);
    if (result.ok) need.forEach((n) => model.wholeCurves.add(n));
    if (!result.ok) {
      $("live").hidden = true;
      if (result.status === 401) window.location.assign("/login/?next=" + encodeURIComponent(location.pathname));
      return true;
    }
    const first = model.study === null;
    const changed = merge(result.data);
    renderHeader();
    if (changed || first) renderData(need.length > 0);
    const live = LIVE.has(model.study.state);
    $("live").hidden = !live;
    return live || [...model.selected].some((n) => !model.allCurves && !model.wholeCurves.has(n));
  }

  // A big study's dots and Bayesian panel draw only the aggregates: they
  // change when fresh aggregates come, not with every poll.
  let drawnOverview = null;
  // redraw: every chart, aggregates or not (the selection changed, or its rows came)
  function renderData(redraw = false, table = true) {
    const fresh = !model.overview || model.overview !== drawnOverview || redraw;
    drawnOverview = model.overview;
    if (fresh) StudyCharts.drawBest(model);
    StudyCharts.drawCurves(model);
    if (model.study.algorithm === "asha") AshaBoard.draw(model);
    else if (fresh) StudyCharts.drawBayes(model);
    if (table) loadTable(true);
  }

  // -- selection: ticked rows, kept in the address (#select=3,7) ---------------------------
  function readSelection() {
    const m = /select=([\d,]+)/.exec(location.hash);
    if (m) m[1].split(",").filter(Boolean).slice(0, MOST_SELECTED).forEach((n) => model.selected.add(Number(n)));
  }

  function selectionChanged() {
    const numbers = [...model.selected].sort((a, b) => a - b);
    history.replaceState(null, "", numbers.length ? "#select=" + numbers.join(",") : location.pathname + location.search);
    const n = numbers.length;
    $("selection").hidden = n === 0;
    $("selection-count").textContent = `${n} selected`;
    const link = $("compare-trials");
    const ok = n >= 2 && n <= 12;
    link.classList.toggle("disabled", !ok);
    link.setAttribute("aria-disabled", ok ? "false" : "true");
    link.title = ok ? "these trials side by side" : n > 12 ? "compare at most 12 trials" : "select two or more trials";
    link.href = `/studies/${studyId}/compare/?trials=${numbers.join(",")}`;
    document.querySelectorAll("#trials tbody input.pick").forEach((box) => {
      box.checked = model.selected.has(Number(box.dataset.number));
      box.closest("tr").classList.toggle("selected", box.checked);
    });
    if (model.study) renderData(true, false);
    // other charts of the page (study_analysis.js) redraw their highlight from model.selected
    document.dispatchEvent(new CustomEvent("study:selection", { detail: numbers }));
  }

  // -- header -------------------------------------------------------------------------
  function renderHeader() {
    const s = model.study;
    document.title = `${s.name} · hpopt`;
    $("study-name").textContent = s.name;
    const badge = $("study-state");
    badge.className = "badge s-" + s.state;
    badge.textContent = s.state;
    const show = { start: s.state === "draft", pause: s.state === "running", resume: s.state === "paused", kill: !ENDED.has(s.state) };
    $("more-budget").hidden = !["running", "paused", "completed"].includes(s.state);
    root.querySelectorAll("#study-controls [data-action]").forEach((b) => { b.hidden = !show[b.dataset.action]; });
    root.querySelector("#study-controls .sep").hidden = !Object.values(show).some(Boolean);
    const archived = Boolean(s.archived);
    $("study-archived").hidden = $("archived-note").hidden = !archived;
    root.querySelector('[data-life="archive"]').hidden = archived;
    root.querySelector('[data-life="unarchive"]').hidden = !archived;
    if (archived) ["start", "resume"].forEach((a) => { root.querySelector(`#study-controls [data-action="${a}"]`).hidden = true; });
    if (archived) $("more-budget").hidden = true;
    const pct = Math.round(1000 * s.progress) / 10;
    $("progress-bar").style.width = pct + "%";
    // one denominator for the bar, the text and the budget card: compute in
    // full-data epochs against the study's budget (hpopt.progress)
    const b = s.budget;
    $("progress-text").textContent = `${pct}% of the budget · ${hp.num(b.spent, 3)} of ${hp.num(b.total, 3)} full epochs`;
    $("budget-note").hidden = !b.note;
    $("budget-note").textContent = b.note ? "Budget: " + b.note : "";
    $("eta").textContent = ENDED.has(s.state) ? (s.state === "completed" ? "done" : s.state) : s.state === "draft" ? "not started" : hp.duration(s.eta_seconds);
    // a wall-time budget is a deadline (studies.deadline)
    $("deadline-box").hidden = !s.deadline || ENDED.has(s.state);
    $("deadline").textContent = s.deadline ? new Date(s.deadline).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }) : "—";
    const counts = $("counts");
    hp.clear(counts);
    for (const state of ["running", "queued", "paused", "completed", "stopped", "killed", "failed", "lost"]) {
      const n = (s.counts || {})[state];
      if (n) counts.append(hp.el("span", { class: "count-chip s-" + state }, hp.el("b", {}, String(n)), " " + state));
    }
    $("study-error").hidden = !s.error;
    $("study-error").textContent = s.error || "";
    // ASHA under a hard budget hands out trials while the budget pays for them,
    // and backfills shorter ones at the end: the server says how many of each
    // (hpopt.progress.trial_count), in the words the studies list uses too
    const count = s.trial_count;
    $("kpi-trials").textContent = String(count.created);
    $("kpi-trials-sub").textContent = count.note || "trials";
    $("kpi-trials").closest(".kpi").title = count.text;
    $("kpi-running").textContent = String((s.counts || {}).running || 0);
    $("kpi-budget").textContent = `${hp.num(b.spent, 3)} / ${hp.num(b.total, 3)}`;
    $("kpi-budget-sub").textContent = b.hard ? "full epochs spent / budget (hard)" : "full epochs spent / planned";
    if (s.best) {
      $("kpi-best").textContent = hp.num(s.best.final_score, 5);
      hp.clear($("kpi-best-trial")).append(hp.el("a", { href: trialHref(s.best.trial) }, `trial #${s.best.trial}`),
        ` · best epoch score ${hp.num(s.best.best_epoch_score, 5)}`);
      $("kpi-best-trial").title = `trial #${s.best.trial}: final score ${s.best.final_score} (its latest report, which ranks the configs); best epoch score ${s.best.best_epoch_score}`;
    }
    const end = s.finished ? new Date(s.finished) : new Date();
    $("kpi-elapsed").textContent = s.started ? hp.duration((end - new Date(s.started)) / 1000) : "—";
    $("kpi-started").textContent = s.started ? "started " + hp.time(s.started) : "not started";
    const tm = s.time_model;
    $("kpi-speed").textContent = hp.num(tm.seconds_per_epoch, 3) + " s";
    $("kpi-speed-sub").textContent = `full data · ${tm.description}`;
    $("kpi-startup").textContent = hp.num(tm.startup_seconds, 3) + " s";
    $("kpi-startup-sub").textContent = `per trial · ${tm.description}`;
    const best = $("dl-best");
    best.classList.toggle("disabled", !s.best);
    best.setAttribute("aria-disabled", s.best ? "false" : "true");
    $("copy-python").disabled = !s.best;
    $("edit-draft").hidden = s.state !== "draft";
    renderSettings();
    // other parts of the page (study_enqueue.js) follow the study
    document.dispatchEvent(new CustomEvent("study:updated", { detail: s }));
  }

  function trialHref(number) {
    const t = model.trials.get(number);
    if (t) return `/trials/${t.id}/`;
    return model.study.best && model.study.best.trial === number ? `/trials/${model.study.best.id}/` : "#";
  }

  let settingsDone = false;
  function renderSettings() {
    if (settingsDone) return;
    settingsDone = true;
    const s = model.study;
    const body = document.querySelector("#space-table tbody");
    for (const [name, spec] of Object.entries(s.search_space || {})) {
      const initial = (s.initial_search_space || {})[name];
      const shrunk = initial && JSON.stringify(initial.range) !== JSON.stringify(spec.range);
      const list = (range) => "[" + range.map((v) => JSON.stringify(v)).join(", ") + "]";
      body.append(hp.el("tr", {}, hp.el("td", {}, hp.el("code", {}, name)), hp.el("td", {}, spec.type),
        hp.el("td", {}, hp.el("code", {}, list(spec.range)), shrunk ? hp.el("span", { class: "muted small" }, ` (was ${list(initial.range)}, shrunk after OOM)`) : null)));
    }
    const kv = (box, entries) => entries.forEach(([k, v]) => {
      if (v === null || v === undefined) return;
      box.append(hp.el("dt", {}, k), hp.el("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v)));
    });
    const p = s.plan;
    kv($("plan-kv"), [["trials", p.num_trials], ["epochs per trial", p.max_iterations], ["subset ratio", hp.num(p.subset_ratio)],
      ["brackets", p.search_alg === "asha" ? p.brackets : null], ["budget (full trainings)", hp.num(p.budget)],
      ["budget used", Math.round(100 * p.budget_used) + "%"], ["expected epochs", hp.num(p.expected_epochs)],
      ["auto", (p.auto || []).join(", ") || "none"], ["warnings", (p.warnings || []).join(" ") || null]]);
    const skip = new Set(["search_space", "save_path", "resume", ...(s.algorithm === "asha"
      ? ["num_init_trial", "kappa", "kappa_decay", "kappa_decay_delay", "early_stop"]
      : ["min_iterations", "reduction_factor", "num_brackets", "backfill"])]);
    kv($("settings-kv"), Object.entries(s.settings).filter(([k]) => !skip.has(k)));
  }

  // -- controls -------------------------------------------------------------------------
  // A draft far over its budget starts only when confirmed: the New-study form's question
  // (hp.confirmOverBudget), with the wall time of the stored plan at the study's time model.
  function confirmDraftStart() {
    const { plan, seconds_per_epoch: seconds } = model.study;
    const epochs = plan.num_full_iterations * seconds;
    return hp.confirmOverBudget(plan.budget_used, plan.cost * epochs, plan.budget * epochs);
  }

  $("study-controls").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "kill" && !(await hp.confirmAction(`Kill the study "${model.study.name}"? Every queued, running and paused trial is killed; this cannot be undone.`, "Kill study"))) return;
    if (action === "start" && !(await confirmDraftStart())) return;
    button.disabled = true;
    await hp.post(`/api/studies/${studyId}/${action}`, `${action} study`);
    button.disabled = false;
    poller.restart();
    poller.now();
  });

  // Archive, unarchive, delete: refused (409, the message says why) while
  // workers hold the study's trials; delete and archive ask first, in the page.
  root.querySelectorAll("[data-life]").forEach((button) => button.addEventListener("click", async () => {
    const action = button.dataset.life;
    // a click before the first poll has answered waits for it: the question names the trials
    await firstLoad;
    const s = model.study;
    const trials = Object.values(s.counts || {}).reduce((a, b) => a + b, 0);
    const question = {
      delete: [`Delete the study "${s.name}" with its ${trials} trial${trials === 1 ? "" : "s"}, their scores and logs? This cannot be undone.`, "Delete study"],
      archive: [`Archive the study "${s.name}"? The studies list hides it until you unarchive it.`, "Archive"],
    }[action];
    if (question && !(await hp.confirmAction(...question))) return;
    button.disabled = true;
    const result = await hp.post(`/api/studies/${studyId}/${action}`, `${action} study`);
    button.disabled = false;
    if (result.ok && action === "delete") {
      window.location.assign("/");
      return;
    }
    $("life-error").hidden = result.ok;
    $("life-error").textContent = result.ok ? "" : hp.errorText(result);
    poller.restart();
    poller.now();
  }));

  // More budget: "2h" / "+90m" (more wall time) or "5 trials"; the server
  // re-plans and the study goes on (a completed one runs again).
  $("more-budget").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("more-budget-value").value.trim().replace(/^\+/, "");
    const trials = /^(\d+)\s*trials?$/i.exec(text);
    const body = trials ? { add_trials: Number(trials[1]) } : { budget: text };
    const result = await hp.api(`/api/studies/${studyId}/budget`, { method: "POST", body });
    if (result.ok) {
      hp.toast(`more budget: ${text}`);
      $("more-budget-value").value = "";
    } else {
      hp.toast("more budget failed: " + hp.errorText(result), "error");
    }
    poller.restart();
    poller.now();
  });

  $("copy-python").addEventListener("click", async () => {
    const best = model.study && model.study.best;
    if (!best) return;
    const text = `# study ${model.study.name}, trial ${best.trial}, score ${best.score}\nparams = ${hp.pythonLiteral(best.params)}\n`;
    const ok = await hp.copy(text);
    hp.toast(ok ? `Copied trial #${best.trial}'s params as a Python dict` : "Copy failed", ok ? "info" : "error");
  });

  $("dl-best").addEventListener("click", (event) => {
    if ($("dl-best").classList.contains("disabled")) event.preventDefault();
  });

  // -- trial table: a page from the server ---------------------------------------------
  const table = { offset: 0, total: 0, token: 0, busy: false };
  const csvBase = $("dl-csv").getAttribute("href");
  const filter = $("trial-filter");
  ["running", "queued", "paused", "completed", "stopped", "killed", "failed", "lost"].forEach((s) => filter.append(hp.el("option", { value: s }, s)));

  function tableQuery() {
    const q = new URLSearchParams({ offset: table.offset, limit: PAGE });
    q.set("sort", TrialSort.resolve($("trial-sort").value, model.study.mode));
    const add = (key, id) => { const v = $(id).value.trim(); if (v) q.set(key, v); };
    add("state", "trial-filter");
    add("q", "trial-search");
    add("score_min", "trial-score-min");
    add("score_max", "trial-score-max");
    const param = $("trial-param").value;
    if (param) {
      add(`param.${param}.min`, "trial-param-min");
      add(`param.${param}.max`, "trial-param-max");
    }
    // brushes of the Analysis section's parallel coordinates (study_analysis.js)
    if (typeof StudyAnalysis !== "undefined") for (const [key, value] of StudyAnalysis.tableFilters()) q.set(key, value);
    return q;
  }

  // Answers arrive out of order when controls change quickly: only the latest
  // is drawn. A poll does not ask again while a page is on its way (a slow
  // search on a big study would otherwise pile up on the server).
  async function loadTable(fromPoll = false) {
    if (fromPoll && table.busy) return;
    const token = ++table.token;
    table.busy = true;
    const query = tableQuery();
    TrialSort.mark(document.querySelector("#trials thead"), $("trial-sort"), query.get("sort"));
    // the CSV download holds what the table shows: its filters and order, every page
    const csv = new URLSearchParams(query);
    ["offset", "limit"].forEach((key) => csv.delete(key));
    $("dl-csv").href = `${csvBase}?${csv}`;
    const result = await hp.api(`/api/studies/${studyId}/trials?${query}`);
    if (token === table.token) table.busy = false;
    if (token !== table.token) return;
    $("trial-query-error").hidden = result.ok;
    if (!result.ok) {
      $("trial-query-error").textContent = hp.errorText(result);
      return;
    }
    table.total = result.data.total;
    renderTable(result.data.trials);
  }

  function requery() {
    table.offset = 0;
    loadTable();
  }

  function fillParamOptions() {
    TrialSort.paramButtons($("param-sorts"), model.study.search_space);
    const select = $("trial-param");
    if (select.options.length > 1) return;
    for (const [name, spec] of Object.entries(model.study.search_space || {})) {
      const sortable = spec.type !== "choice" || spec.range.every((v) => typeof v === "number");
      if (!sortable) continue;
      select.append(hp.el("option", { value: name }, name));
      $("trial-sort").append(hp.el("option", { value: `param.${name}` }, `${name} ↑`), hp.el("option", { value: `-param.${name}` }, `${name} ↓`));
    }
  }

  // a column's header sorts by it, a second click the other way (trial_sort.js)
  document.querySelector("#trials thead").addEventListener("click", (event) => {
    const button = event.target.closest("button.th-sort");
    if (!button || !model.study) return;
    const mode = model.study.mode;
    const sort = TrialSort.next(TrialSort.resolve($("trial-sort").value, mode), button.dataset.sort, mode, "score" in button.dataset);
    TrialSort.setMenu($("trial-sort"), sort, mode, button.textContent);
    requery();
  });
  $("trial-query").addEventListener("submit", (event) => { event.preventDefault(); requery(); });
  ["trial-filter", "trial-sort", "trial-param"].forEach((id) => $(id).addEventListener("change", requery));
  const typed = hp.debounce(requery, 300);
  ["trial-search", "trial-score-min", "trial-score-max", "trial-param-min", "trial-param-max"].forEach((id) => $(id).addEventListener("input", typed));
  document.addEventListener("study:requery", requery);
  // a dot of a trial this page does not hold: the table finds it
  document.addEventListener("study:find-trial", (event) => {
    $("trial-search").value = "#" + event.detail;
    requery();
    $("trials-card").scrollIntoView({ behavior: "smooth" });
  });
  $("trials-prev").addEventListener("click", () => { table.offset = Math.max(0, table.offset - PAGE); loadTable(); });
  $("trials-next").addEventListener("click", () => { table.offset += PAGE; loadTable(); });

  function paramsCell(params) {
    return hp.el("td", { class: "params" }, Object.entries(params || {}).map(([k, v]) =>
      hp.el("span", { class: "kv-pill" }, hp.el("span", { class: "k" }, k), hp.el("span", { class: "v" }, hp.paramValue(v)))));
  }

  function duration(t) {
    if (!t.started) return "—";
    const end = t.finished && !["running", "queued"].includes(t.state) ? new Date(t.finished) : new Date();
    return hp.duration((end - new Date(t.started)) / 1000);
  }

  function controls(t) {
    const b = (action, label, cls) => hp.el("button", { type: "button", class: "btn tiny " + cls, "data-action": action, "data-trial": t.id, "data-number": t.number, title: `${action} trial #${t.number}` }, label);
    const out = [];
    if (t.state === "running" && t.pending !== "pause") out.push(b("pause", "Pause", ""));
    if (t.state === "queued") out.push(b("pause", "Pause", ""));
    if (t.state === "paused") out.push(b("resume", "Resume", "primary"));
    if (["queued", "running", "paused"].includes(t.state)) out.push(b("kill", "Kill", "danger-outline"));
    else if (t.state !== "queued") out.push(t.excluded ? b("include", "Include", "ghost") : b("exclude", "Exclude", "ghost"));
    return out;
  }

  function renderTable(rows) {
    fillParamOptions();
    const tbody = document.querySelector("#trials tbody");
    hp.clear(tbody);
    const all = Object.values(model.study.counts || {}).reduce((a, b) => a + b, 0);
    const filtered = table.total !== all;
    $("trials-count").textContent = `${all}` + (filtered ? ` · ${table.total} shown by the filters` : "");
    if (!rows.length) {
      tbody.append(hp.el("tr", {}, hp.el("td", { colspan: 10, class: "empty" }, all ? "No trial matches these filters." : model.study.state === "draft" ? "Start the study to run trials." : "No trials yet.")));
    }
    const best = model.study.best ? model.study.best.trial : null;
    for (const t of rows) {
      const pct = t.iterations ? Math.min(100, (100 * t.last_iteration) / t.iterations) : 0;
      const picked = model.selected.has(t.number);
      const rowClass = [t.number === best ? "best-row" : "", t.excluded ? "excluded" : "", picked ? "selected" : ""].join(" ").trim() || null;
      tbody.append(hp.el("tr", { "data-number": t.number, "data-state": t.state, class: rowClass },
        hp.el("td", { class: "pick" }, hp.el("input", { type: "checkbox", class: "pick", "data-number": t.number, checked: picked, "aria-label": `select trial #${t.number}` })),
        hp.el("td", { class: "num" }, hp.el("a", { href: `/trials/${t.id}/` }, "#" + t.number), t.number === best ? hp.el("span", { class: "star", title: "best trial" }, " ★") : null,
          t.hand_picked ? hp.el("div", {}, hp.el("span", { class: "tag hand", title: "a config given by hand (Try a config), not sampled" }, "hand-picked")) : null),
        paramsCell(t.params),
        hp.el("td", {}, hp.el("div", { class: "iter" },
          hp.el("div", { class: "bar" + (t.state === "running" ? " live" : "") }, hp.el("span", { style: { width: pct + "%" } })),
          hp.el("span", { class: "small" }, `${t.last_iteration}/${t.iterations}`))),
        hp.el("td", { class: "num score", "data-field": "final" }, hp.num(t.final_score)),
        hp.el("td", { class: "num", "data-field": "best-epoch" }, hp.num(t.best_epoch_score)),
        hp.el("td", {}, hp.badge(t.state), t.excluded ? [" ", hp.el("span", { class: "badge excluded", title: "excluded from the model's view" }, "excluded")] : null, t.pending ? hp.el("span", { class: "pending" }, ` ${t.pending}…`) : null,
          t.bracket !== null && model.study.algorithm === "asha" ? hp.el("span", { class: "muted small" }, ` b${t.bracket}`) : null,
          t.stop_reason ? hp.el("div", { class: "muted small why" }, t.stop_reason) : null,
          t.error ? hp.el("div", { class: "err small", title: t.error }, t.error) : null),
        hp.el("td", { class: "small" }, t.host ? [t.host, t.gpu ? hp.el("span", { class: "gpu" }, "GPU " + t.gpu) : null] : hp.el("span", { class: "muted" }, "—")),
        hp.el("td", { class: "num small" }, duration(t)),
        hp.el("td", { class: "actions" }, controls(t))));
    }
    const last = Math.min(table.total, table.offset + rows.length);
    $("trials-range").textContent = table.total > PAGE ? `${table.offset + 1}–${last} of ${table.total}` : "";
    $("trials-prev").hidden = $("trials-next").hidden = table.total <= PAGE;
    $("trials-prev").disabled = table.offset === 0;
    $("trials-next").disabled = last >= table.total;
  }

  document.querySelector("#trials tbody").addEventListener("change", (event) => {
    const box = event.target.closest("input.pick");
    if (!box) return;
    const n = Number(box.dataset.number);
    if (box.checked && model.selected.size >= MOST_SELECTED) {
      box.checked = false;
      hp.toast(`select at most ${MOST_SELECTED} trials`, "error");
      return;
    }
    if (box.checked) model.selected.add(n);
    else model.selected.delete(n);
    selectionChanged();
    // a selected trial whose whole curve the page lacks: the next poll brings it
    if (box.checked && !model.allCurves && !model.wholeCurves.has(n)) { poller.restart(); poller.now(); }
  });
  $("selection-clear").addEventListener("click", () => { model.selected.clear(); selectionChanged(); });

  document.querySelector("#trials tbody").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const { action, trial, number } = button.dataset;
    if (action === "kill" && !(await hp.confirmAction(`Kill trial #${number}? It stops now and is not resumed.`, "Kill trial"))) return;
    if (action === "exclude" && !(await hp.confirmExclude(number))) return;
    button.disabled = true;
    await hp.post(`/api/trials/${trial}/${action}`, `${action} trial #${number}`);
    poller.restart();
    poller.now();
  });

  // a change made elsewhere on the page (a config enqueued): poll now
  document.addEventListener("study:refresh", () => { poller.restart(); poller.now(); });

  readSelection();
  selectionChanged();
  poller = hp.poll(refresh, POLL_MS);
})();
