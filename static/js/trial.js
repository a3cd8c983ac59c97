// Trial page: GET /api/trials/<id> (scores, params, every attempt with its
// log and traceback), polled every 2 s while the trial is queued, running or
// paused; pause / resume / kill.
"use strict";

(() => {
  const root = document.getElementById("trial");
  const trialId = root.dataset.id;
  const $ = (id) => document.getElementById(id);
  const LIVE = new Set(["queued", "running", "paused"]);
  let trial = null;
  let chart = null;
  let poller = null;
  const outputs = new Map(); // attempt number -> its <details> (kept, so an open one stays open)

  // seconds an attempt ran: to its end, or until now while it runs
  const attemptSeconds = (a) => a.seconds ?? (a.outcome ? null : (new Date() - new Date(a.started)) / 1000);

  // trials from before attempts were recorded: their last run, from the trial's own fields
  function attemptsOf(t) {
    if (t.attempts.length || !(t.log || t.traceback)) return t.attempts;
    return [{ number: t.attempt, started: t.started, ended: t.finished, outcome: t.state, reason: t.error, worker: t.host,
      host: t.host, gpu: t.gpu, device: "", oom: false, log: t.log, traceback: t.traceback, seconds: null }];
  }

  function outcomeText(a) {
    if (!a.outcome) return "running";
    if (a.oom) return "out of GPU memory: queued again";
    if (a.outcome === "lost") return "lost: its worker vanished";
    if (a.outcome === "replaced") return "replaced: " + a.reason;
    return a.outcome + (a.reason ? ` · ${a.reason}` : "");
  }

  function deviceText(a) {
    const where = a.device || (a.gpu ? "GPU " + a.gpu : "CPU");
    return a.cuda_used === false && a.gpu ? `${where} · CUDA not used: ran on the CPU` : where;
  }

  function outputOf(a, latest) {
    let box = outputs.get(a.number);
    if (!box) {
      box = hp.el("details", { class: "card attempt-output" }, hp.el("summary", {}), hp.el("pre", { class: "log error-log" }), hp.el("pre", { class: "log" }));
      box.open = latest;
      outputs.set(a.number, box);
      $("attempt-output").prepend(box);
    }
    box.querySelector("summary").textContent = `Attempt ${a.number}: output` + (a.traceback ? " and traceback" : "");
    const [tb, log] = box.querySelectorAll("pre");
    tb.hidden = !a.traceback;
    tb.textContent = a.traceback || "";
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = a.log || (a.outcome ? "(the trainer printed nothing)" : "(no output yet: it is sent with each heartbeat)");
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function renderAttempts(list) {
    const body = hp.clear(document.querySelector("#attempts tbody"));
    if (!list.length) body.append(hp.el("tr", {}, hp.el("td", { class: "empty", colspan: "7" }, "not started yet")));
    for (const a of list) {
      const s = attemptSeconds(a);
      body.append(hp.el("tr", { "data-attempt": String(a.number), class: a.oom ? "oom" : "" },
        hp.el("td", {}, String(a.number)), hp.el("td", {}, a.started ? hp.time(a.started) : "—"),
        hp.el("td", {}, a.ended ? hp.time(a.ended) : a.outcome ? "unknown" : "—"),
        hp.el("td", { class: "num" }, s === null ? "—" : hp.duration(s)), hp.el("td", { class: "outcome" }, outcomeText(a)),
        hp.el("td", { class: "mono" }, a.worker || a.host || "—"), hp.el("td", { class: "device" }, deviceText(a))));
    }
    list.forEach((a, i) => outputOf(a, i === list.length - 1));
  }

  function drawScores() {
    const colors = hp.chartColors();   // the colour scheme's, from static/css/app.css
    const data = trial.scores.map(([x, y]) => ({ x, y }));
    const starts = Curves.markers([trial], new Map([[trial.number, trial.scores]]), new Map([[trial.number, trial.attempt_starts || []]]));
    if (!chart) {
      chart = new Chart($("chart-scores"), {
        type: "line",
        data: { datasets: [{ data, parsing: false, borderColor: colors.accent, backgroundColor: colors.accentFill, fill: true, pointRadius: 2, borderWidth: 2 }, starts] },
        options: {
          parsing: false,
          scales: { x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } }, y: { title: { display: true, text: "score" } } },
          plugins: { tooltip: { callbacks: { title: (items) => `epoch ${items[0].raw.x}`, label: (ctx) => (ctx.raw.attempt ? Curves.markerLabel(ctx.raw) : hp.num(ctx.raw.y)) } } },
        },
      });
    } else {
      chart.data.datasets[0].data = data;
      chart.data.datasets[1] = starts;
      chart.update("none");
    }
  }

  function render() {
    const t = trial;
    $("trial-state").className = "badge s-" + t.state;
    $("trial-state").textContent = t.state;
    $("trial-pending").textContent = t.pending ? `${t.pending} at the next report…` : t.stop_reason ? `· ${t.stop_reason}` : "";
    const finished = !LIVE.has(t.state) && t.state !== "queued";
    const show = { pause: t.state === "queued" || (t.state === "running" && t.pending !== "pause"), resume: t.state === "paused", kill: LIVE.has(t.state),
      exclude: finished && !t.excluded, include: finished && t.excluded };
    $("trial-excluded").hidden = $("excluded-note").hidden = !t.excluded;
    root.querySelectorAll("#trial-controls [data-action]").forEach((b) => { b.hidden = !show[b.dataset.action]; });
    root.querySelector("#trial-controls .sep").hidden = !Object.values(show).some(Boolean);
    const pct = t.iterations ? Math.min(100, (100 * t.last_iteration) / t.iterations) : 0;
    $("iter-bar").style.width = pct + "%";
    $("iter-text").textContent = `epoch ${t.last_iteration} of ${t.iterations}`;
    $("kpi-final").textContent = hp.num(t.final_score, 5);
    $("kpi-best").textContent = hp.num(t.best_epoch_score, 5);
    const mode = root.dataset.mode;
    const top = t.scores.reduce((b, p) => (b === null || (mode === "min" ? p[1] < b[1] : p[1] > b[1]) ? p : b), null);
    $("kpi-best-at").textContent = top ? `at epoch ${top[0]}` : "";
    $("kpi-worker").textContent = t.host || "—";
    $("kpi-gpu").textContent = t.gpu ? "GPU " + t.gpu : t.host ? "CPU" : "";
    const attempts = attemptsOf(t);
    const timed = attempts.map(attemptSeconds).filter((s) => s !== null);
    const end = t.finished && !LIVE.has(t.state) ? new Date(t.finished) : new Date();
    const total = timed.length ? timed.reduce((x, y) => x + y, 0) : t.started ? (end - new Date(t.started)) / 1000 : null;
    $("kpi-duration").textContent = total === null ? "—" : hp.duration(total);
    $("kpi-started").textContent = (attempts.length > 1 ? `over ${attempts.length} attempts · ` : "") + (t.started ? "last started " + hp.time(t.started) : "not started");
    $("kpi-attempt").textContent = String(t.attempt) + (t.oom_count ? ` · ${t.oom_count} OOM` : "");
    $("kpi-bracket").textContent = t.bracket !== null ? `bracket ${t.bracket}` + (Object.keys(t.rungs || {}).length ? ` · rungs ${Object.keys(t.rungs).join(", ")}` : "") : "";
    $("trial-error").hidden = !t.error;
    $("trial-error").textContent = t.error || "";
    const body = hp.clear(document.querySelector("#params tbody"));
    for (const [k, v] of Object.entries(t.params || {})) {
      body.append(hp.el("tr", {}, hp.el("th", {}, k), hp.el("td", { class: "mono" }, typeof v === "number" ? String(v) : hp.paramValue(v))));
    }
    renderAttempts(attempts);
    drawScores();
  }

  async function refresh() {
    const result = await hp.api(`/api/trials/${trialId}`);
    if (!result.ok) return true;
    trial = result.data;
    render();
    const live = LIVE.has(trial.state);
    $("live").hidden = !live;
    return live;
  }

  $("trial-controls").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "kill" && !(await hp.confirmAction(`Kill trial #${trial.number}? It stops now and is not resumed.`, "Kill trial"))) return;
    if (action === "exclude" && !(await hp.confirmExclude(trial.number))) return;
    button.disabled = true;
    await hp.post(`/api/trials/${trialId}/${action}`, `${action} trial`);
    button.disabled = false;
    poller.restart();
    poller.now();
  });

  $("copy-params").addEventListener("click", async () => {
    if (!trial) return;
    const ok = await hp.copy(`params = ${hp.pythonLiteral(trial.params)}\n`);
    hp.toast(ok ? "Copied the params as a Python dict" : "Copy failed", ok ? "info" : "error");
  });

  // The reader switched light/dark: the chart is made again in the new colours.
  document.addEventListener("hp:scheme", () => {
    if (!chart) return;
    chart.destroy();
    chart = null;
    drawScores();
  });

  poller = hp.poll(refresh, 2000);
})();
