// Workers page: GET /api/workers every 5 s: each worker's device (as it found
// its GPUs), the trainers it offers, those it does not (with why) and the
// trainer modules it could not import.
"use strict";

(() => {
  const tbody = document.querySelector("#workers tbody");
  const summary = document.getElementById("workers-summary");

  function row(w) {
    const state = w.alive ? w.state : w.state === "stopped" ? "stopped" : "silent";
    return hp.el("tr", { "data-state": state, class: w.alive ? null : "dim" },
      hp.el("td", {}, hp.el("code", {}, w.name)),
      hp.el("td", {}, w.host),
      hp.el("td", {}, w.gpu ? hp.el("span", { class: "gpu", title: w.device || "" }, w.device || "GPU " + w.gpu) : hp.el("span", { class: "muted" }, "CPU")),
      hp.el("td", {}, hp.el("span", { class: "badge w-" + state }, state)),
      hp.el("td", {}, w.current_trial ? hp.el("a", { href: `/trials/${w.current_trial}/` }, "trial " + w.current_trial) : hp.el("span", { class: "muted" }, "—")),
      hp.el("td", { class: "small" }, (w.queues || []).map((q) => hp.el("span", { class: "kv-pill" }, hp.el("span", { class: "v" }, q.replace(/^hpopt-/, "")))),
        Object.entries(w.skipped || {}).map(([name, why]) => hp.el("div", { class: "muted" }, `not offered: ${name} (${why})`)),
        Object.entries(w.import_errors || {}).map(([module, error]) => hp.el("div", { class: "muted" }, `could not import ${module}: ${error}`))),
      hp.el("td", { class: "small", title: w.last_seen }, hp.ago(w.last_seen)),
      hp.el("td", { class: "small", title: w.started }, hp.time(w.started)));
  }

  hp.poll(async () => {
    const result = await hp.api("/api/workers");
    if (!result.ok) { summary.textContent = hp.errorText(result); return true; }
    const workers = result.data.workers;
    hp.clear(tbody);
    if (!workers.length) tbody.append(hp.el("tr", {}, hp.el("td", { colspan: 8, class: "empty" }, "No worker has registered yet.")));
    const alive = workers.filter((w) => w.alive);
    workers.sort((a, b) => b.alive - a.alive || a.host.localeCompare(b.host) || a.name.localeCompare(b.name)).forEach((w) => tbody.append(row(w)));
    const busy = alive.filter((w) => w.state === "busy").length;
    const gpus = alive.filter((w) => w.gpu).length;
    summary.textContent = `${alive.length} alive (${busy} busy, ${alive.length - busy} idle) · ${gpus} on GPUs · ${workers.length - alive.length} stopped or silent`;
    return true;
  }, 5000);
})();
