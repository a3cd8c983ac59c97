// New-study page: trainer picker, the search-space builder (space.js), instant
// checks of the fields against the rules the server serves with the page
// ("form-rules": the library's table, hpopt/fields.py, where the defaults
// come from too), a live Auto Config preview (POST /api/plan) and the submit
// (POST /api/studies), whose answers give every broken rule by field.
// Opened from a study ("form-source": /studies/new/?from=<id>, or a draft's
// /studies/<id>/edit/), the form starts from that study's definition; an
// edit saves through POST /api/studies/<id>/edit instead.
"use strict";

(() => {
  const form = document.getElementById("study-form");
  const $ = (id) => document.getElementById(id);
  const hints = hp.readJSON("form-hints") || {};
  const RULES = (hp.readJSON("form-rules") || {}).fields || {};
  const source = hp.readJSON("form-source");
  // fields of the source's definition that the form has no input for
  // (hard_budget, a num_workers other than the parallelism...): sent as they were
  let carried = {};
  const builder = new SpaceBuilder(document.querySelector("#space tbody"), () => changed());
  let trainers = [];
  let touched = new Set();
  let showAll = false;
  let serverErrors = {};
  let spaceEdited = false;
  let previewAbort = null;
  // true from the press on a form button to its release (see holdLayout)
  let pressing = false;

  // The numeric fields with an input of their own: name -> rule.
  const FIELDS = Object.fromEntries(Object.entries(RULES).filter(([name, rule]) => ["int", "number"].includes(rule.kind) && $("f-" + name)));

  const inBounds = (rule, v) => (rule.minimum === null || (rule.min_open ? v > rule.minimum : v >= rule.minimum))
    && (rule.maximum === null || (rule.max_open ? v < rule.maximum : v <= rule.maximum));
  const follows = (rule, v) => Number.isFinite(v) && (rule.kind !== "int" || Number.isInteger(v)) && inBounds(rule, v);

  // A value as Python's repr shows it in the server's messages: JSON sends an
  // integral number as an int, any other as a float, which repr writes with
  // an exponent below 1e-4 ("1e-05"); a text as a quoted string.
  function pyRepr(value, text) {
    if (!Number.isFinite(value)) return `'${text}'`;
    const s = !Number.isInteger(value) && Math.abs(value) < 1e-4 ? value.toExponential() : String(value);
    return s.replace(/e([+-])(\d)$/, (_, sign, digit) => `e${sign}0${digit}`);
  }

  // The rules' defaults (and bounds, as the inputs' min/max) into the form.
  function applyRules() {
    for (const [name, rule] of Object.entries(RULES)) {
      const radios = [...form.querySelectorAll(`input[type=radio][name="${name}"]`)];
      radios.forEach((radio) => { radio.checked = radio.value === String(rule.default); });
      if (radios.length && !radios.some((radio) => radio.checked)) radios[0].checked = true;
      const input = $("f-" + name);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = Boolean(rule.default);
      else input.value = rule.default === null ? "" : String(rule.default);
      input.title = `${name}: ${rule.words}`;
      if (!FIELDS[name]) continue;
      const step = rule.kind === "int" ? 1 : 0;
      if (rule.minimum !== null) input.min = String(rule.minimum + (rule.min_open ? step : 0));
      if (rule.maximum !== null) input.max = String(rule.maximum - (rule.max_open ? step : 0));
    }
    form.querySelectorAll(".hint[data-rule]").forEach((hint) => {
      const rule = RULES[hint.dataset.rule];
      if (rule) hint.textContent = `${hint.textContent.trim()}: ${rule.words}`;
    });
    $("f-expected_time_ratio-range").value = $("f-expected_time_ratio").value;
  }

  const algorithm = () => form.querySelector("input[name=search_alg]:checked").value;
  const mode = () => form.querySelector("input[name=mode]:checked").value;

  // The request body, and the browser's findings by field: `errors` (every
  // one, worded as the server words them) and `missing` (the fields whose
  // value could not go into the body: empty or not a number; the rows of
  // the builder that are not complete count in `rowErrors`). A value that
  // breaks a rule still goes into the body: the server then says so too,
  // along with the rules only it checks.
  function collect() {
    const body = { ...carried, name: $("f-name").value.trim(), trainer: $("f-trainer").value, search_alg: algorithm(), mode: mode() };
    const errors = {};
    const missing = new Set();
    const fail = (name, message) => { errors[name] = message; missing.add(name); };
    if (!body.name) fail("name", "name is required");
    if (!body.trainer) fail("trainer", "pick a trainer");
    for (const [name, rule] of Object.entries(FIELDS)) {
      if (rule.algorithm && rule.algorithm !== body.search_alg) continue;
      const text = $("f-" + name).value.trim();
      if (text === "") {
        if (!rule.optional) fail(name, `${name} is required`);
        continue;
      }
      const value = SpaceRules.parseNumber(text);
      if (!Number.isFinite(value)) { fail(name, `${name} must be ${rule.words} (got ${pyRepr(value, text)})`); continue; }
      if (!follows(rule, value)) errors[name] = `${name} must be ${rule.words} (got ${pyRepr(value, text)})`;
      body[name] = value;
    }
    for (const [name, rule] of Object.entries(RULES)) {
      if (rule.algorithm && rule.algorithm !== body.search_alg) continue;
      const input = $("f-" + name);
      if (!input || FIELDS[name]) continue;
      if (input.type === "checkbox") body[name] = input.checked;
      else if (input.tagName === "SELECT" && input.value) body[name] = input.value;
    }
    const wall = wallBudget();
    if (Object.keys(wall).length) {
      // the budget as wall time replaces the ratio; the server turns it into one
      delete body.expected_time_ratio;
      delete errors.expected_time_ratio;
      missing.delete("expected_time_ratio");
      Object.assign(body, wall);
    }
    const space = builder.collect();
    body.search_space = space.spec;
    const rowErrors = Object.keys(space.errors).length;
    return { body, errors, missing, rowErrors };
  }

  function showErrors() {
    if (pressing) return;   // shown once the click is through (holdLayout)
    const { errors } = collect();
    form.querySelectorAll(".field[data-field]").forEach((field) => {
      const key = field.dataset.field;
      const local = (showAll || touched.has(key)) ? errors[key] : "";
      const message = local || serverErrors[key] || "";
      const out = field.querySelector(".field-error");
      if (out) out.textContent = message;
      field.classList.toggle("invalid", Boolean(message));
    });
    builder.showAll = showAll;
    builder.showErrors();
    const general = serverErrors.__all__ || "";
    $("form-error").hidden = !general;
    $("form-error").textContent = general;
  }

  // A press on a button blurs the field being edited; its error would then
  // appear and push the buttons down before the release, so the click would
  // land beside the button and be lost. From press to release the errors
  // wait; they show after the click (which shows them all when it submits).
  function holdLayout() {
    form.querySelector(".form-actions").addEventListener("pointerdown", (event) => {
      if (event.button === 0 && event.target.closest("button")) pressing = true;
    });
    const release = () => {
      if (!pressing) return;
      pressing = false;
      setTimeout(showErrors, 0);   // after the click this release makes
    };
    document.addEventListener("pointerup", release, true);
    document.addEventListener("pointercancel", release, true);
  }

  // After a submit that saved nothing: which fields are wrong, by their
  // labels, in one line by the buttons, and the cursor in the first of them.
  function reportInvalid() {
    const wrong = [...form.querySelectorAll(".field.invalid, #space tr.invalid, .form-error:not([hidden])")];
    const names = wrong.map((box) => {
      if (box.matches("tr")) return "Search space";
      if (box.matches(".form-error")) return box.textContent;
      const label = box.querySelector("label, .label");
      return label ? label.textContent.trim() : box.dataset.field;
    });
    const summary = $("form-summary");
    summary.textContent = names.length
      ? `Nothing was saved. Fix ${names.length === 1 ? "this field" : `these ${names.length} fields`}: ${names.join("; ")}.`
      : "Nothing was saved.";
    summary.hidden = false;
    $("submit-status").textContent = "";
    const first = wrong[0];
    if (!first) return;
    if (first.closest("details")) first.closest("details").open = true;
    first.scrollIntoView({ block: "center" });
    const own = first.dataset.field && $("f-" + first.dataset.field);   // not the ratio's slider
    (own || first.querySelector("input.invalid, input, select, textarea"))?.focus({ preventScroll: true });
  }

  // Server keys that have no field of their own land next to the closest one.
  function placeErrors(errors) {
    const placed = {};
    for (const [key, message] of Object.entries(errors || {})) {
      const target = key === "num_workers" ? "parallelism" : key === "done_by" ? "budget" : key;
      if (target.startsWith("search_space.") || form.querySelector(`.field[data-field="${target}"]`)) placed[target] = message;
      else placed.__all__ = (placed.__all__ ? placed.__all__ + "; " : "") + `${key}: ${message}`;
    }
    return placed;
  }

  // -- trainers --------------------------------------------------------------------
  async function loadTrainers() {
    const result = await hp.api("/api/trainers");
    const select = $("f-trainer");
    hp.clear(select);
    trainers = result.ok ? result.data.trainers : [];
    if (!trainers.length) {
      $("no-trainers").hidden = false;
      select.append(hp.el("option", { value: "" }, "no trainers registered"));
      return;
    }
    const wanted = source ? source.body.trainer : hints.last_trainer;
    const preferred = trainers.find((t) => t.name === wanted) || trainers[0];
    trainers.forEach((t) => select.append(hp.el("option", { value: t.name, selected: t === preferred }, t.name)));
    if (source && preferred.name !== wanted) {
      // no worker offers it now: shown as it is, the server says why it cannot be saved
      select.append(hp.el("option", { value: wanted, selected: true }, `${wanted} (no worker offers it now)`));
    }
    applyTrainer(preferred);
    if (source) applySource(source.body);
  }

  // The source study's definition over the trainer's defaults: every field
  // that has an input, the search space, and the rest carried as it is.
  function applySource(body) {
    carried = {};
    for (const [key, value] of Object.entries(body)) {
      const radios = [...form.querySelectorAll(`input[type=radio][name="${key}"]`)];
      const input = $("f-" + key);
      if (key === "search_space" || key === "batch_size_name") continue;
      if (radios.length) radios.forEach((radio) => { radio.checked = radio.value === String(value); });
      else if (input && input.type === "checkbox") input.checked = Boolean(value);
      else if (input) input.value = value === null ? "" : String(value);
      else carried[key] = value;
    }
    $("f-expected_time_ratio-range").value = $("f-expected_time_ratio").value;
    for (const hint of ["seconds-hint", "startup-hint"]) $(hint).textContent = `as in ${source.name}`;
    builder.setSpec(body.search_space || {});
    spaceEdited = true;
    refreshBatchSizeOptions();
    $("f-batch_size_name").value = body.batch_size_name || "";
    changed();
  }

  function applyTrainer(trainer) {
    const info = $("trainer-info");
    hp.clear(info);
    if (!trainer) return;
    hp.append(info, [trainer.description || "no description", " · on ", (trainer.hosts || []).join(", ") || "no host yet"]);
    const d = trainer.defaults || {};
    for (const key of ["full_dataset_size", "num_full_iterations", "expected_time_ratio", "non_pure_train_ratio", "min_subset_size"]) {
      if (d[key] !== undefined && d[key] !== null) $("f-" + key).value = d[key];
    }
    $("f-expected_time_ratio-range").value = $("f-expected_time_ratio").value;
    applyTimeModel(trainer);
    if (d.search_alg) form.querySelector(`input[name=search_alg][value="${CSS.escape(String(d.search_alg))}"]`)?.click();
    builder.setSpec(trainer.search_space || {});
    spaceEdited = false;
    if (d.batch_size_name) $("f-batch_size_name").value = d.batch_size_name;
    changed();
  }

  // The trainer's measured time model (studies/timing.py) pre-fills the two
  // time fields and says where the numbers come from; once the user types
  // their own, the hint says theirs is used, and what it replaced.
  function applyTimeModel(trainer) {
    const d = trainer.defaults || {};
    const tm = trainer.time_model;
    const fill = (id, hintId, value, source, origin) => {
      if (value === undefined || value === null) return;
      $(id).value = Number(Number(value).toPrecision(3));
      $(id).dataset.origin = `${origin}: ${$(id).value} s`;
      $(hintId).textContent = source;
    };
    if (tm) {
      fill("f-seconds_per_epoch", "seconds-hint", tm.seconds_per_epoch, tm.description, "measured");
      fill("f-startup_seconds", "startup-hint", tm.startup_seconds, tm.description, "measured");
    } else {
      fill("f-seconds_per_epoch", "seconds-hint", d.seconds_per_epoch, "the trainer's estimate", "the trainer's estimate");
      fill("f-startup_seconds", "startup-hint", d.startup_seconds, "the trainer's estimate", "the trainer's estimate");
    }
  }
  for (const [id, hintId] of [["f-seconds_per_epoch", "seconds-hint"], ["f-startup_seconds", "startup-hint"]]) {
    $(id).addEventListener("input", () => {
      const origin = $(id).dataset.origin;
      $(hintId).textContent = "your value is used" + (origin ? ` (${origin})` : "");
    });
  }

  // A wall-clock budget: a duration as the server reads it ("3h", "90m"), or
  // a time of day ("18:00": done by then, today or tomorrow), sent as a moment.
  function wallBudget() {
    const text = $("f-budget").value.trim();
    const clock = /^(\d{1,2}):(\d{2})$/.exec(text);
    if (!clock) return text ? { budget: text } : {};
    const when = new Date();
    when.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    if (when <= new Date()) when.setDate(when.getDate() + 1);
    const offset = -when.getTimezoneOffset();
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    const local = new Date(when.getTime() + offset * 60000).toISOString().slice(0, 19);
    return { done_by: `${local}${offset >= 0 ? "+" : "-"}${pad(offset / 60)}:${pad(offset % 60)}` };
  }

  $("f-trainer").addEventListener("change", async (event) => {
    const trainer = trainers.find((t) => t.name === event.target.value);
    if (spaceEdited && !(await hp.confirmAction(`Replace the search space with the default space of '${event.target.value}'?`, "Replace"))) {
      return;
    }
    applyTrainer(trainer);
  });
  $("reset-space").addEventListener("click", () => {
    const trainer = trainers.find((t) => t.name === $("f-trainer").value);
    if (trainer) { builder.setSpec(trainer.search_space || {}); spaceEdited = false; }
  });
  $("add-param").addEventListener("click", () => builder.add());

  // -- JSON import / export ------------------------------------------------------------
  const exportJSON = () => { $("space-json").value = JSON.stringify(builder.collect().spec, null, 2); $("json-error").textContent = ""; };
  $("toggle-json").addEventListener("click", () => {
    $("json-panel").hidden = !$("json-panel").hidden;
    if (!$("json-panel").hidden) exportJSON();
  });
  $("export-json").addEventListener("click", exportJSON);
  $("copy-json").addEventListener("click", async () => hp.toast((await hp.copy($("space-json").value)) ? "copied" : "copy failed", "info"));
  $("import-json").addEventListener("click", () => {
    try {
      const spec = JSON.parse($("space-json").value);
      if (!spec || typeof spec !== "object" || Array.isArray(spec)) throw new Error("expected an object {name: {type, range}}");
      builder.setSpec(spec);
      builder.rows.forEach((r) => { r.touched = true; });
      spaceEdited = true;
      $("json-error").textContent = "";
      changed();
      hp.toast(`imported ${Object.keys(spec).length} parameters`);
    } catch (err) {
      $("json-error").textContent = err.message;
    }
  });

  // -- keeping things in step ---------------------------------------------------------
  function refreshBatchSizeOptions() {
    const select = $("f-batch_size_name");
    const current = select.value;
    const names = builder.quantizedNames();
    hp.clear(select);
    select.append(hp.el("option", { value: "" }, "none"));
    names.forEach((n) => select.append(hp.el("option", { value: n, selected: n === current }, n)));
  }

  function refreshAlgorithm() {
    const alg = algorithm();
    form.querySelectorAll("[data-alg]").forEach((box) => { box.hidden = box.dataset.alg !== alg; });
    $("alg-label").textContent = alg === "asha" ? "ASHA" : "Bayesian optimization";
  }

  function changed() {
    refreshBatchSizeOptions();
    refreshAlgorithm();
    showErrors();
    if (showAll) {
      const { errors, rowErrors } = collect();
      if (!Object.keys(errors).length && !rowErrors) $("submit-status").textContent = "";
    }
    schedulePreview();
  }

  form.addEventListener("input", (event) => {
    if (event.target.closest("#space")) spaceEdited = true;
    const field = event.target.closest(".field[data-field]");
    if (field) { delete serverErrors[field.dataset.field]; }
    if (event.target.id === "f-expected_time_ratio-range") $("f-expected_time_ratio").value = event.target.value;
    if (event.target.id === "f-expected_time_ratio") $("f-expected_time_ratio-range").value = event.target.value;
    changed();
  });
  form.addEventListener("change", (event) => {
    const field = event.target.closest(".field[data-field]");
    if (field) touched.add(field.dataset.field);
    changed();
  });
  form.addEventListener("focusout", (event) => {
    const field = event.target.closest(".field[data-field]");
    if (field) { touched.add(field.dataset.field); showErrors(); }
  });

  // -- preview ---------------------------------------------------------------------
  const schedulePreview = hp.debounce(preview, 300);

  // Only what cannot go into the body (an empty or unreadable field, an
  // unfinished row) holds the preview back; every rule, the served ones the
  // browser also checks and those only the library knows, is the server's
  // to report, all at once, each at its field or row.
  async function preview() {
    const { body, errors, missing, rowErrors } = collect();
    missing.delete("name");
    missing.delete("trainer");
    if (previewAbort) previewAbort.abort();
    previewAbort = null;
    const blocking = missing.size + rowErrors;
    if (blocking) {
      renderPreviewProblem(`Fix ${blocking} field${blocking > 1 ? "s" : ""} to see the plan.`, [...missing].map((k) => errors[k]));
      return;
    }
    previewAbort = new AbortController();
    const { name, ...planBody } = body;
    let result;
    try {
      result = await hp.api("/api/plan", { method: "POST", body: planBody, signal: previewAbort.signal });
    } catch (err) {
      return; // superseded by a newer preview
    }
    if (result.ok) {
      serverErrors = {};
      builder.setServerErrors({});
      renderPreview(result.data, body);
    } else {
      serverErrors = placeErrors(result.data && result.data.errors);
      builder.setServerErrors(serverErrors);
      renderPreviewProblem("The library rejects these settings:", Object.entries(serverErrors).map(([k, v]) => `${k}: ${v}`));
    }
    showErrors();
  }

  function renderPreviewProblem(title, items) {
    const box = hp.clear($("preview-body"));
    box.classList.add("stale");
    box.append(hp.el("p", { class: "preview-problem", id: "preview-problem" }, title));
    if (items.length) box.append(hp.el("ul", { class: "warnings" }, items.slice(0, 6).map((t) => hp.el("li", {}, t))));
  }

  function stat(label, id, value, sub, auto) {
    return hp.el("div", { class: "pv-stat" },
      hp.el("dt", {}, label, auto === undefined ? null : hp.el("span", { class: "tag " + (auto ? "auto" : "fixed"), title: auto ? "chosen by Auto Config" : "fixed by you" }, auto ? "auto" : "fixed")),
      hp.el("dd", { id }, value), sub ? hp.el("dd", { class: "sub" }, sub) : null);
  }

  function renderPreview(data, body) {
    const plan = data.plan;
    const box = hp.clear($("preview-body"));
    box.classList.remove("stale");
    const workers = Math.min(body.parallelism, plan.num_trials);
    const finish = new Date(Date.now() + data.wall_seconds * 1000);
    const sameDay = finish.toDateString() === new Date().toDateString();
    box.append(hp.el("div", { class: "pv-hero" },
      hp.el("span", { class: "label" }, "Estimated wall time"),
      hp.el("strong", { id: "preview-wall" }, hp.duration(data.wall_seconds)),
      hp.el("span", { class: "muted" }, `on ${body.parallelism} worker${body.parallelism > 1 ? "s" : ""} · done ≈ `,
        finish.toLocaleString(undefined, sameDay ? { hour: "2-digit", minute: "2-digit" } : { weekday: "short", hour: "2-digit", minute: "2-digit" }))));
    if (data.planned_workers < body.parallelism) {
      // runner.capacity: CPU workers of a host share its cores
      box.append(hp.el("p", { class: "hint", id: "preview-capacity" },
        `the trainer's live workers run ${data.planned_workers} trial${data.planned_workers > 1 ? "s" : ""} at full speed (CPU workers share their host's cores): the plan counts ${data.planned_workers}, the study runs ${body.parallelism} at a time, each slower`));
    }
    const used = plan.budget_used;
    const budgetSeconds = data.budget_seconds;
    box.append(hp.el("div", { class: "pv-budget" },
      hp.el("div", { class: "pv-budget-head" }, hp.el("span", {}, "Budget used"), hp.el("strong", { id: "preview-budget" }, Math.round(used * 100) + "%")),
      hp.el("div", { class: "bar big" + (Math.abs(used - 1) > 0.1 ? " warn" : "") }, hp.el("span", { style: { width: Math.min(100, used * 100) + "%" } })),
      hp.el("p", { class: "hint", id: "preview-budget-both" }, `budget: expected_time_ratio ${hp.num(data.expected_time_ratio, 3)} = ${hp.num(plan.budget, 3)} full trainings = ${hp.duration(budgetSeconds)} of wall time`)));
    const auto = new Set(plan.auto);
    const samples = Math.round(plan.subset_ratio * plan.full_dataset_size);
    box.append(hp.el("dl", { class: "pv-grid" },
      stat("Trials", "preview-trials", String(plan.num_trials), workers > 1 ? `${workers} at a time` : "one at a time", auto.has("num_trials")),
      stat("Epochs / trial", "preview-iterations", String(plan.max_iterations), `of ${plan.num_full_iterations} full`, auto.has("max_iterations")),
      stat("Data subset", "preview-subset", (plan.subset_ratio * 100).toFixed(plan.subset_ratio < 0.1 ? 1 : 0) + "%", `${samples.toLocaleString("en-US")} samples`, auto.has("subset_ratio")),
      stat("Epochs trained", "preview-epochs", hp.num(Math.round(plan.expected_epochs)), "expected, all trials")));
    if (plan.search_alg === "asha") {
      const ladder = hp.el("div", { class: "pv-brackets", id: "preview-brackets" });
      plan.brackets.forEach((rungs, b) => {
        const steps = [...rungs, plan.max_iterations];
        ladder.append(hp.el("div", { class: "pv-bracket" },
          hp.el("span", { class: "pv-bracket-name" }, `bracket ${b}`),
          steps.map((m, i) => [i ? hp.el("span", { class: "arrow" }, "→") : null,
            hp.el("span", { class: "rung" + (i === steps.length - 1 ? " top" : ""), title: i < steps.length - 1 ? `rung at epoch ${m}: top 1/${plan.reduction_factor} continue` : "full length" }, String(m))])));
      });
      box.append(hp.el("h3", {}, `ASHA rungs (η = ${plan.reduction_factor})`), ladder);
    } else {
      box.append(hp.el("p", { class: "hint pv-note" },
        `First ${Math.min(body.num_init_trial, plan.num_trials)} trials random, then Gaussian-process UCB (kappa ${body.kappa}${body.kappa_decay < 1 ? `, × ${body.kappa_decay} per trial after ${body.kappa_decay_delay}` : ""}).`));
    }
    if (plan.warnings.length) box.append(hp.el("ul", { class: "warnings", id: "preview-warnings" }, plan.warnings.map((w) => hp.el("li", {}, w))));
  }

  // -- submit ----------------------------------------------------------------------
  // A plan over its budget by more than the planner's tolerance starts only once
  // the user confirms it: asked for the plan of the form as it is now, not the
  // last preview (which may be older than the last keystroke).
  async function confirmOverBudget(body) {
    const { name, start, ...planBody } = body;
    const result = await hp.api("/api/plan", { method: "POST", body: planBody });
    if (!result.ok) return true;   // the submit answers with the broken fields
    return hp.confirmOverBudget(result.data.plan.budget_used, result.data.wall_seconds, result.data.budget_seconds);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAll = true;
    const { body, missing, rowErrors } = collect();
    body.start = event.submitter ? event.submitter.value === "start" : false;
    // the server checks every rule; only a body that cannot be made stays here
    $("form-summary").hidden = true;
    if (missing.size || rowErrors) {
      showErrors();
      reportInvalid();
      return;
    }
    if (body.start && !(await confirmOverBudget(body))) {
      $("submit-status").textContent = "Not started: the plan is over its budget (change it, or save it as a draft).";
      return;
    }
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    $("submit-status").textContent = "Saving…";
    const editing = source && source.kind === "edit";
    // an edit changes the fields it sends: one the form left empty goes back to its default (or to Auto
    // Config); the other algorithm's settings, which the form does not send, stay as they are
    const foreign = (key) => RULES[key] && RULES[key].algorithm && RULES[key].algorithm !== body.search_alg;
    if (editing) Object.keys(source.body).forEach((key) => { if (!(key in body) && !foreign(key)) body[key] = null; });
    const result = await hp.api(editing ? `/api/studies/${source.id}/edit` : "/api/studies", { method: "POST", body });
    if (result.ok) {
      window.location.assign(`/studies/${result.data.id}/`);
      return;
    }
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = false; });
    serverErrors = placeErrors(result.data ? result.data.errors : { __all__: `HTTP ${result.status}` });
    builder.setServerErrors(serverErrors);
    showErrors();
    reportInvalid();
  });

  applyRules();
  holdLayout();
  refreshAlgorithm();
  loadTrainers();
})();
