// Compare studies: GET /api/compare?studies=4,9 (this page's own query): the
// best epoch score so far of studies of one trainer, against wall time and
// against epochs spent (series computed and bounded on the server), and the
// other studies of that trainer to tick (GET /api/studies?q=<trainer>).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ids = (new URLSearchParams(location.search).get("studies") || "").split(",").filter(Boolean).map(Number);
  // a study's colour at the scheme's lightness (lighter in the dark): its swatch and lines stay readable
  const colorOf = (i) => `hsl(${(i * 137.508 + 230) % 360}, 62%, ${hp.chartColors().lightness})`;
  let shown = null;

  function chart(id, xTitle, tick, points, data) {
    if (Chart.getChart(id)) Chart.getChart(id).destroy();
    return new Chart($(id), {
      type: "line",
      data: { datasets: data.studies.map((s, i) => ({
        label: `${s.name} (#${s.id})`, data: points(s).map(([x, y]) => ({ x, y })), parsing: false, stepped: true,
        borderColor: colorOf(i), backgroundColor: colorOf(i), borderWidth: 2, pointRadius: 2, study: s.id,
      })) },
      options: {
        parsing: false,
        scales: { x: { type: "linear", min: 0, title: { display: true, text: xTitle }, ticks: { maxRotation: 0, callback: tick } },
          y: { title: { display: true, text: "best epoch score so far" } } },
        plugins: { legend: { display: true, position: "bottom" },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${hp.num(ctx.raw.y)} at ${tick(ctx.raw.x)}` } } },
      },
    });
  }

  function renderTable(data) {
    const body = hp.clear(document.querySelector("#compare-studies tbody"));
    data.studies.forEach((s, i) => body.append(hp.el("tr", { "data-id": s.id },
      hp.el("td", {}, hp.el("span", { class: "swatch", style: { color: colorOf(i) } }, "■ "), hp.el("a", { href: `/studies/${s.id}/` }, s.name), hp.el("span", { class: "muted small" }, ` #${s.id}`)),
      hp.el("td", {}, hp.badge(s.state)), hp.el("td", {}, s.algorithm === "asha" ? "ASHA" : "Bayesian", hp.el("span", { class: "muted small" }, ` · ${s.mode}`)),
      hp.el("td", { class: "num", "data-field": "final" }, s.best ? [hp.num(s.best.final_score, 5), hp.el("span", { class: "muted small" }, ` #${s.best.trial}`)] : "—"),
      hp.el("td", { class: "num", "data-field": "best-epoch" }, s.best ? hp.num(s.best.best_epoch_score, 5) : "—"))));
  }

  async function renderPicks(trainer) {
    const result = await hp.api(`/api/studies?q=${encodeURIComponent(trainer)}&per_page=100`);
    if (!result.ok) return;
    const box = hp.clear($("study-picks"));
    for (const s of result.data.studies.filter((s) => s.trainer === trainer)) {
      box.append(hp.el("label", { class: "inline" }, hp.el("input", { type: "checkbox", value: s.id, checked: ids.includes(s.id) }),
        ` ${s.name} `, hp.el("span", { class: "muted small" }, `#${s.id} · ${s.state}`)));
    }
    box.addEventListener("change", () => {
      const picked = [...box.querySelectorAll("input:checked")].map((b) => b.value);
      if (picked.length > 8) { hp.toast("compare at most 8 studies", "error"); return; }
      if (picked.length) location.assign(`?studies=${picked.join(",")}`);
    });
  }

  async function load() {
    const result = await hp.api(`/api/compare?studies=${encodeURIComponent(ids.join(","))}`);
    $("compare-error").hidden = result.ok;
    if (!result.ok) {
      $("compare-error").textContent = hp.errorText(result);
      return;
    }
    shown = result.data;
    $("compare-trainer").textContent = `trainer ${shown.studies[0].trainer}`;
    draw();
    renderPicks(shown.studies[0].trainer);
  }

  function draw() {
    renderTable(shown);
    chart("chart-by-time", "wall time since the study started", (v) => hp.duration(v), (s) => s.by_time, shown);
    chart("chart-by-epochs", "full epochs spent", (v) => hp.num(v, 3), (s) => s.by_epochs, shown);
  }

  // The reader switched light/dark: the table's swatches and the charts in the new colours.
  document.addEventListener("hp:scheme", () => { if (shown) draw(); });

  load();
})();
