// Studies list: the table is rendered by the server (a page of it, searched
// and sorted there: the links carry ?q=&state=&sort=&page=); while any study
// on the page is running this refreshes its state, budget bar, trials, best
// score and ETA from the same page of GET /api/studies.
"use strict";

(() => {
  const table = document.getElementById("studies");
  const LIVE = new Set(["running", "paused"]);
  const live = () => [...table.querySelectorAll("tbody tr[data-id]")].some((tr) => LIVE.has(tr.dataset.state));

  function setCell(tr, field, ...children) {
    const cell = tr.querySelector(`[data-field=${field}]`);
    if (cell) hp.append(hp.clear(cell), children);
  }

  function update(study) {
    const tr = table.querySelector(`tr[data-id="${study.id}"]`);
    if (!tr) return;
    tr.dataset.state = study.state;
    const badge = tr.querySelector("[data-field=state]");
    badge.className = "badge s-" + study.state;
    badge.textContent = study.state;
    const percent = Math.round(1000 * study.progress) / 10;
    tr.querySelector("[data-field=bar]").style.width = percent + "%";
    setCell(tr, "percent", percent + "%");
    // the study page's Trials card says the same (hpopt.progress.trial_count)
    setCell(tr, "trials", study.trial_count.text);
    if (study.best) setCell(tr, "best", study.best.score.toFixed(4) + " ", hp.el("span", { class: "muted small" }, "#" + study.best.trial));
    setCell(tr, "eta", study.eta_seconds === null ? "—" : hp.duration(study.eta_seconds));
  }

  if (!table) return;
  // ticked studies of one trainer open the compare page
  table.addEventListener("change", (event) => {
    if (!event.target.matches("input.pick-study")) return;
    const picked = [...table.querySelectorAll("input.pick-study:checked")];
    const link = document.getElementById("compare-selected");
    const trainers = new Set(picked.map((b) => b.dataset.trainer));
    const ok = picked.length >= 2 && picked.length <= 8 && trainers.size === 1;
    link.classList.toggle("disabled", !ok);
    link.setAttribute("aria-disabled", ok ? "false" : "true");
    link.title = ok ? "overlay these studies' best so far" : trainers.size > 1 ? "studies of one trainer only" : "tick two to eight studies of one trainer";
    link.href = "/compare/?studies=" + picked.map((b) => b.value).join(",");
  });
  document.getElementById("compare-selected").addEventListener("click", (event) => {
    if (event.currentTarget.classList.contains("disabled")) event.preventDefault();
  });
  hp.poll(async () => {
    if (!live()) return false;
    const result = await hp.api("/api/studies" + table.dataset.query);
    if (result.ok) result.data.studies.forEach(update);
    return live();
  }, 5000);
})();
