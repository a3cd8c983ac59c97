// The search-space builder of the new-study page: one table row per
// parameter, fields that follow the type, the library's rules checked as the
// user types (hpopt/space.py is the authority; the server checks again).
"use strict";

const SpaceRules = (() => {
  const TYPES = ["uniform", "quniform", "loguniform", "qloguniform", "choice"];
  const FIELDS = {
    uniform: ["low", "high"],
    quniform: ["low", "high", "q"],
    loguniform: ["low", "high", "base"],
    qloguniform: ["low", "high", "q", "base"],
    choice: ["choices"],
  };
  const OPTIONAL = new Set(["base"]);
  const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  // "" -> undefined; a number -> the number; anything else -> NaN.
  function parseNumber(text) {
    const t = String(text ?? "").trim();
    if (t === "") return undefined;
    return NUMBER.test(t) ? Number(t) : NaN;
  }

  const show = (v) => (typeof v === "string" ? `'${v}'` : v === null ? "None" : typeof v === "boolean" ? (v ? "True" : "False") : String(v));

  // "relu, tanh" -> ["relu", "tanh"]; "32, 64" -> [32, 64]; true/false/None
  // as in Python; a JSON array for values that contain commas.
  function parseChoices(text) {
    const t = String(text ?? "").trim();
    if (t === "") return [];
    if (t.startsWith("[")) {
      const value = JSON.parse(t);
      if (!Array.isArray(value)) throw new Error("a JSON list is expected");
      return value;
    }
    return t.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
      if (NUMBER.test(s)) return Number(s);
      if (s === "true" || s === "True") return true;
      if (s === "false" || s === "False") return false;
      if (s === "null" || s === "None") return null;
      if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1);
      return s;
    });
  }

  const KEYWORDS = ["true", "false", "null", "True", "False", "None"];

  // The inverse of parseChoices: a comma list when that reads back the same, else JSON.
  function choicesText(values) {
    const plain = (v) => v !== "" && v.trim() === v && !/[,"'\[]/.test(v) && !NUMBER.test(v) && !KEYWORDS.includes(v);
    if (!values.every((v) => typeof v !== "string" || plain(v))) return JSON.stringify(values);
    return values.map((v) => (v === null ? "None" : typeof v === "boolean" ? (v ? "True" : "False") : String(v))).join(", ");
  }

  // One row {name, type, low, high, q, base, choices} (texts as typed) ->
  // {spec, error}: the library's spec, or the first rule it breaks.
  function check(row) {
    const type = row.type;
    if (!TYPES.includes(type)) return { error: `unknown type '${type}'; valid types are: ${TYPES.join(", ")}` };
    if (type === "choice") {
      let values;
      try { values = parseChoices(row.choices); } catch (err) { return { error: "choices: " + err.message, field: "choices" }; }
      if (!values.length) return { error: "choice range must not be empty (give at least one value)", field: "choices" };
      const seen = new Map();
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v !== null && !["string", "number", "boolean"].includes(typeof v)) {
          return { error: `choices must be str, int, float, bool or None (got ${JSON.stringify(v)} at index ${i})`, field: "choices" };
        }
        const key = typeof v + ":" + String(v);
        if (seen.has(key)) return { error: `duplicate choice ${show(v)} at index ${seen.get(key)} and ${i}`, field: "choices" };
        seen.set(key, i);
      }
      return { spec: { type, range: values } };
    }
    const v = {};
    for (const key of FIELDS[type]) {
      const n = parseNumber(row[key]);
      if (n === undefined && OPTIONAL.has(key)) continue;
      if (n === undefined) return { error: `${key} is required`, field: key };
      if (!Number.isFinite(n)) return { error: `${key} must be a number (got '${String(row[key]).trim()}')`, field: key };
      v[key] = n;
    }
    const quantized = type.startsWith("q");
    const log = type.endsWith("loguniform");
    if (quantized && v.low > v.high) return { error: `low must be <= high (got low=${v.low}, high=${v.high})`, field: "low" };
    if (!quantized && v.low >= v.high) return { error: `low must be < high (got low=${v.low}, high=${v.high})`, field: "low" };
    if (log && v.low <= 0) return { error: `low must be > 0 on a log scale (got low=${v.low})`, field: "low" };
    if (v.base !== undefined && v.base <= 1) return { error: `base must be > 1 (got base=${v.base})`, field: "base" };
    if (quantized) {
      if (v.q <= 0) return { error: `q must be > 0 (got q=${v.q})`, field: "q" };
      const span = v.high - v.low;
      if (v.low < v.high && v.q > span * (1 + 1e-9)) {
        return { error: `q must be <= high - low unless low == high (got q=${v.q}, high - low=${span})`, field: "q" };
      }
    }
    const range = [v.low, v.high];
    if (quantized) range.push(v.q);
    if (v.base !== undefined) range.push(v.base);
    return { spec: { type, range } };
  }

  // Library spec {type, range} -> row texts; throws on a malformed spec.
  function rowFromSpec(name, spec) {
    if (!spec || typeof spec !== "object" || !TYPES.includes(spec.type) || !Array.isArray(spec.range)) {
      throw new Error(`parameter '${name}': a spec must be {"type": one of ${TYPES.join(", ")}, "range": [...]}`);
    }
    const row = { name, type: spec.type, low: "", high: "", q: "", base: "", choices: "" };
    if (spec.type === "choice") {
      row.choices = choicesText(spec.range);
      return row;
    }
    const keys = FIELDS[spec.type].filter((k) => k !== "base" || spec.range.length > FIELDS[spec.type].length - 1);
    keys.forEach((k, i) => { row[k] = spec.range[i] === undefined ? "" : String(spec.range[i]); });
    return row;
  }

  return { TYPES, FIELDS, parseNumber, parseChoices, choicesText, check, rowFromSpec };
})();

class SpaceBuilder {
  constructor(tbody, onChange) {
    this.tbody = tbody;
    this.onChange = onChange;
    this.rows = [];
    this.nextId = 1;
    this.serverErrors = {};
    this.showAll = false;
  }

  setSpec(spec) {
    this.rows = Object.entries(spec || {}).map(([name, s]) => ({ id: this.nextId++, touched: false, ...SpaceRules.rowFromSpec(name, s) }));
    this.serverErrors = {};
    this.render();
  }

  add() {
    const row = { id: this.nextId++, name: "", type: "uniform", low: "", high: "", q: "", base: "", choices: "", touched: false };
    this.rows.push(row);
    this.render();
    const input = this.tbody.querySelector(`tr[data-row="${row.id}"] input[data-key=name]`);
    if (input) input.focus();
  }

  // {spec, errors: {rowId: message}}; spec holds the valid rows.
  collect() {
    const spec = {};
    const errors = {};
    const names = new Map();
    for (const row of this.rows) {
      const name = row.name.trim();
      if (!name) { errors[row.id] = { error: "parameter names must be non-empty strings", field: "name" }; continue; }
      if (names.has(name)) { errors[row.id] = { error: `duplicate parameter name '${name}'`, field: "name" }; continue; }
      names.set(name, row.id);
      const result = SpaceRules.check(row);
      if (result.error) errors[row.id] = result;
      else spec[name] = result.spec;
    }
    return { spec, errors, count: this.rows.length };
  }

  quantizedNames() {
    return this.rows.filter((r) => r.type === "quniform" || r.type === "qloguniform").map((r) => r.name.trim()).filter(Boolean);
  }

  // Server messages come keyed "search_space.<name>".
  setServerErrors(errors) {
    this.serverErrors = {};
    for (const [key, message] of Object.entries(errors || {})) {
      if (key.startsWith("search_space.")) this.serverErrors[key.slice(13)] = message.replace(/^parameter '[^']*': /, "");
    }
    this.showErrors();
  }

  showErrors() {
    const { errors } = this.collect();
    for (const row of this.rows) {
      const tr = this.tbody.querySelector(`tr[data-row="${row.id}"]`);
      if (!tr) continue;
      const local = errors[row.id];
      const visible = row.touched || this.showAll;
      const message = (visible && local ? local.error : "") || this.serverErrors[row.name.trim()] || "";
      tr.querySelector(".field-error").textContent = message;
      tr.classList.toggle("invalid", Boolean(message));
      tr.querySelectorAll("input, select").forEach((input) => {
        input.classList.toggle("invalid", Boolean(message) && local && visible && input.dataset.key === local.field);
      });
    }
  }

  render() {
    hp.clear(this.tbody);
    this.rows.forEach((row, index) => this.tbody.append(this.renderRow(row, index)));
    if (!this.rows.length) {
      this.tbody.append(hp.el("tr", { class: "empty-row" }, hp.el("td", { colspan: 5, class: "muted" }, "No parameters yet: add one, or import JSON.")));
    }
    this.showErrors();
    this.onChange();
  }

  renderRow(row, index) {
    const update = (key) => (event) => {
      row[key] = event.target.value;
      if (key === "type") { this.render(); return; }
      this.serverErrors = {};
      this.showErrors();
      this.onChange();
    };
    const touch = () => { row.touched = true; this.showErrors(); };
    const input = (key, placeholder, width) => hp.el("label", { class: "mini " + key },
      hp.el("span", {}, key === "choices" ? "values" : key),
      hp.el("input", { "data-key": key, value: row[key], placeholder, size: width, "aria-label": `${row.name || "parameter"} ${key}`, oninput: update(key), onblur: touch }));
    const range = hp.el("div", { class: "range-fields" });
    for (const key of SpaceRules.FIELDS[row.type]) {
      if (key === "choices") range.append(input(key, "relu, tanh   or   [\"a,b\", 3, true]", 30));
      else range.append(input(key, key === "base" ? "10" : "", 8));
    }
    const move = (delta) => () => {
      const j = index + delta;
      if (j < 0 || j >= this.rows.length) return;
      [this.rows[index], this.rows[j]] = [this.rows[j], this.rows[index]];
      this.render();
    };
    const select = hp.el("select", { "data-key": "type", "aria-label": "type", onchange: update("type") },
      SpaceRules.TYPES.map((t) => hp.el("option", { value: t, selected: t === row.type }, t)));
    return hp.el("tr", { "data-row": row.id },
      hp.el("td", { class: "order" },
        hp.el("button", { type: "button", class: "icon", title: "Move up", "aria-label": "move up", disabled: index === 0, onclick: move(-1) }, "▲"),
        hp.el("button", { type: "button", class: "icon", title: "Move down", "aria-label": "move down", disabled: index === this.rows.length - 1, onclick: move(1) }, "▼")),
      hp.el("td", { class: "pname" }, hp.el("input", { "data-key": "name", value: row.name, placeholder: "name", "aria-label": "parameter name", oninput: update("name"), onblur: touch })),
      hp.el("td", { class: "ptype" }, select),
      hp.el("td", { class: "prange" }, range, hp.el("p", { class: "field-error" })),
      hp.el("td", { class: "actions" },
        hp.el("button", { type: "button", class: "icon danger", title: "Remove", "aria-label": "remove parameter", onclick: () => { this.rows = this.rows.filter((r) => r !== row); this.render(); } }, "✕")));
  }
}
