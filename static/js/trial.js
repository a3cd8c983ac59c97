// Trial page: GET /api/trials/<id> (scores, params, log, traceback), polled
// every 2 s while the trial is queued, running or paused; pause / resume / kill.
"use strict";

(() => {
  const root = document.getElementById("trial");
  const trialId = root.dataset.id;
  const $ = (id) => document.getElementById(id);
  const LIVE = new Set(["queued", "running", "paused"]);
  let trial = null;
  let chart = null;
  let poller = null;

  function drawScores() {
    const data = trial.scores.map(([x, y]) => ({ x, y }));
    if (!chart) {
      chart = new Chart($("chart-scores"), {
        type: "line",
        data: { datasets: [{ data, parsing: false, borderColor: "#4f46e5", backgroundColor: "rgba(79,70,229,.1)", fill: true, pointRadius: 2, borderWidth: 2 }] },
        options: {
          parsing: false,
          scales: { x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } }, y: { title: { display: true, text: "score" } } },
          plugins: { tooltip: { callbacks: { title: (items) => `epoch ${items[0].raw.x}`, label: (ctx) => hp.num(ctx.raw.y) } } },
        },
      });
    } else {
      chart.data.datasets[0].data = data;
      chart.update("none");
    }
  }

  function render() {
    const t = trial;
    $("trial-state").className = "badge s-" + t.state;
    $("trial-state").textContent = t.state;
    $("trial-pending").textContent = t.pending ? `${t.pending} at the next report…` : t.stop_reason ? `· ${t.stop_reason}` : "";
    const show = { pause: t.state === "queued" || (t.state === "running" && t.pending !== "pause"), resume: t.state === "paused", kill: LIVE.has(t.state) };
    root.querySelectorAll("#trial-controls [data-action]").forEach((b) => { b.hidden = !show[b.dataset.action]; });
    root.querySelector("#trial-controls .sep").hidden = !Object.values(show).some(Boolean);
    const pct = t.iterations ? Math.min(100, (100 * t.last_iteration) / t.iterations) : 0;
    $("iter-bar").style.width = pct + "%";
    $("iter-text").textContent = `epoch ${t.last_iteration} of ${t.iterations}`;
    $("kpi-best").textContent = hp.num(t.best_score, 5);
    $("kpi-worker").textContent = t.host || "—";
    $("kpi-gpu").textContent = t.gpu ? "GPU " + t.gpu : t.host ? "CPU" : "";
    const end = t.finished && !LIVE.has(t.state) ? new Date(t.finished) : new Date();
    $("kpi-duration").textContent = t.started ? hp.duration((end - new Date(t.started)) / 1000) : "—";
    $("kpi-started").textContent = t.started ? "started " + hp.time(t.started) : "not started";
    $("kpi-attempt").textContent = String(t.attempt);
    $("kpi-bracket").textContent = t.bracket !== null ? `bracket ${t.bracket}` + (Object.keys(t.rungs || {}).length ? ` · rungs ${Object.keys(t.rungs).join(", ")}` : "") : "";
    $("trial-error").hidden = !t.error;
    $("trial-error").textContent = t.error || "";
    const body = hp.clear(document.querySelector("#params tbody"));
    for (const [k, v] of Object.entries(t.params || {})) {
      body.append(hp.el("tr", {}, hp.el("th", {}, k), hp.el("td", { class: "mono" }, typeof v === "number" ? String(v) : hp.paramValue(v))));
    }
    $("traceback-card").hidden = !t.traceback;
    $("traceback").textContent = t.traceback || "";
    const log = $("log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = t.log || (LIVE.has(t.state) ? "(no output yet: the log is stored when the attempt ends)" : "(the trainer printed nothing)");
    if (atBottom) log.scrollTop = log.scrollHeight;
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

  poller = hp.poll(refresh, 2000);
})();
