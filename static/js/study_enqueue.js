// Study page, "Try a config": one input per parameter of the study's current
// search space (a list for a choice), POST /api/studies/<id>/enqueue. The
// server checks the config against the space and names each parameter at
// fault (params.<name>); the queued trial shows in the table as hand-picked.
// Shown while the study runs or is paused; it follows study.js's polls
// through the "study:updated" event.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const card = $("enqueue");
  const form = $("enqueue-form");
  const studyId = document.getElementById("study").dataset.id;
  let space = null;
  let best = null;

  function rangeText(spec) {
    const r = spec.range;
    if (spec.type === "choice") return `one of ${r.length}`;
    if (spec.type === "uniform" || spec.type === "loguniform") return `${spec.type} [${r[0]}, ${r[1]}]`;
    return `${spec.type}: ${r[0]} + k·${r[2]}, up to ${r[1]}`;
  }

  function build(searchSpace) {
    space = searchSpace;
    const box = hp.clear($("enqueue-fields"));
    for (const [name, spec] of Object.entries(space)) {
      const id = `enqueue-${name}`;
      // a choice keeps its value's type (1, "1", true): the option's value is its JSON
      const input = spec.type === "choice"
        ? hp.el("select", { id, "data-param": name }, spec.range.map((v) => hp.el("option", { value: JSON.stringify(v) }, hp.paramValue(v))))
        : hp.el("input", { id, "data-param": name, inputmode: "decimal", placeholder: rangeText(spec) });
      box.append(hp.el("div", { class: "field", "data-field": `params.${name}` },
        hp.el("label", { for: id }, name), input,
        hp.el("p", { class: "hint" }, rangeText(spec)), hp.el("p", { class: "field-error" })));
    }
  }

  function fill(params) {
    for (const [name, value] of Object.entries(params || {})) {
      const input = form.querySelector(`[data-param="${CSS.escape(name)}"]`);
      if (input) input.value = input.tagName === "SELECT" ? JSON.stringify(value) : String(value);
    }
  }

  // The config as typed: a number where it reads as one, the text otherwise
  // (the server then says what the parameter takes); an empty input is left out.
  function collect() {
    const params = {};
    form.querySelectorAll("[data-param]").forEach((input) => {
      const text = input.value.trim();
      if (input.tagName === "SELECT") params[input.dataset.param] = JSON.parse(input.value);
      else if (text !== "") params[input.dataset.param] = Number.isFinite(Number(text)) ? Number(text) : text;
    });
    return params;
  }

  function showErrors(errors) {
    form.querySelectorAll(".field[data-field]").forEach((field) => {
      const message = (errors || {})[field.dataset.field] || "";
      field.querySelector(".field-error").textContent = message;
      field.classList.toggle("invalid", Boolean(message));
    });
    const general = Object.entries(errors || {}).filter(([k]) => !form.querySelector(`.field[data-field="${CSS.escape(k)}"]`))
      .map(([k, v]) => (k === "__all__" ? v : `${k}: ${v}`)).join("; ");
    $("enqueue-error").hidden = !general;
    $("enqueue-error").textContent = general;
  }

  document.addEventListener("study:updated", (event) => {
    const s = event.detail;
    card.hidden = !["running", "paused"].includes(s.state);
    // the current space: an out-of-memory error may have lowered the batch-size bound
    if (JSON.stringify(s.search_space) !== JSON.stringify(space)) build(s.search_space);
    best = s.best ? s.best.params : null;
    $("enqueue-best").disabled = !best;
  });

  $("enqueue-best").addEventListener("click", () => fill(best));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("enqueue-submit").disabled = true;
    const result = await hp.api(`/api/studies/${studyId}/enqueue`, { method: "POST", body: { params: collect() } });
    $("enqueue-submit").disabled = false;
    if (result.ok) {
      showErrors({});
      hp.toast(`Trial #${result.data.number} queued (hand-picked, ${result.data.iterations} epochs)`);
      document.dispatchEvent(new CustomEvent("study:refresh"));
    } else {
      showErrors(result.data ? result.data.errors : { __all__: `HTTP ${result.status}` });
    }
  });
})();
