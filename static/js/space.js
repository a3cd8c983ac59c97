// The search-space builder of the new-study page: one table row per
// parameter, with the range fields of its type. The types and their range
// layouts come from the server (the page's "form-rules": space_types). The
// browser checks only what it needs to build the spec (required fields
// filled, numbers and lists that parse, names present and not repeated); the
// library's rules are the server's, whose messages come back per row from the
// preview and the submit (setServerErrors).
"use strict";

const SpaceRules = (() => {
  // type -> its range layouts, e.g. loguniform: [["low", "high"], ["low", "high", "base"]]
  const LAYOUTS = (hp.readJSON("form-rules") || {}).space_types || {};
  const TYPES = Object.keys(LAYOUTS);
  // A layout of this one name is a list of any length (choice); the builder
  // keeps it under the row key "choices".
  const LIST = "values";
  const keyOf = (name) => (name === LIST ? "choices" : name);
  const bySize = (type) => [...LAYOUTS[type]].sort((a, b) => a.length - b.length);
  // type -> the row keys of its longest layout, in order
  const FIELDS = Object.fromEntries(TYPES.map((t) => [t, bySize(t)[bySize(t).length - 1].map(keyOf)]));
  // type -> the row keys every layout has (the others are optional)
  const REQUIRED = Object.fromEntries(TYPES.map((t) => [t, new Set(bySize(t)[0].map(keyOf))]));
  const isList = (type) => FIELDS[type].length === 1 && FIELDS[type][0] === keyOf(LIST);
  const labelOf = (key) => (key === keyOf(LIST) ? LIST : key);
  const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  // "" -> undefined; a number -> the number; anything else -> NaN.
  function parseNumber(text) {
    const t = String(text ?? "").trim();
    if (t === "") return undefined;
    return NUMBER.test(t) ? Number(t) : NaN;
  }

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
    const simple = (v) => v === null || typeof v === "number" || typeof v === "boolean" || (typeof v === "string" && plain(v));
    if (!values.every(simple)) return JSON.stringify(values);
    return values.map((v) => (v === null ? "None" : typeof v === "boolean" ? (v ? "True" : "False") : String(v))).join(", ");
  }

  // One row {name, type, low, high, ..., choices} (texts as typed) ->
  // {spec} (the library's {type, range}, for the server to check), or
  // {error, field} when the row cannot be turned into a spec yet.
  function check(row) {
    const type = row.type;
    if (!LAYOUTS[type]) return { error: `unknown type '${type}'; valid types are: ${TYPES.join(", ")}` };
    if (isList(type)) {
      const key = keyOf(LIST);
      let values;
      try { values = parseChoices(row[key]); } catch (err) { return { error: `${LIST}: ${err.message}`, field: key }; }
      if (!values.length) return { error: `${LIST} is required`, field: key };
      return { spec: { type, range: values } };
    }
    const values = {};
    for (const key of FIELDS[type]) {
      const text = String(row[key] ?? "").trim();
      const n = parseNumber(text);
      if (n === undefined) {
        if (REQUIRED[type].has(key)) return { error: `${key} is required`, field: key };
        continue;
      }
      if (!Number.isFinite(n)) return { error: `${key} must be a number (got '${text}')`, field: key };
      values[key] = n;
    }
    // the longest layout whose fields are all filled (the shortest one is)
    const layout = bySize(type).reverse().find((names) => names.every((k) => k in values));
    return { spec: { type, range: layout.map((k) => values[k]) } };
  }

  // Library spec {type, range} -> row texts; throws on a spec that does not
  // fit one of its type's layouts.
  function rowFromSpec(name, spec) {
    if (!spec || typeof spec !== "object" || !LAYOUTS[spec.type] || !Array.isArray(spec.range)) {
      throw new Error(`parameter '${name}': a spec must be {"type": one of ${TYPES.join(", ")}, "range": [...]}`);
    }
    const row = { name, type: spec.type };
    TYPES.forEach((t) => FIELDS[t].forEach((k) => { row[k] = ""; }));
    if (isList(spec.type)) {
      row[keyOf(LIST)] = choicesText(spec.range);
      return row;
    }
    const layout = LAYOUTS[spec.type].find((names) => names.length === spec.range.length);
    if (!layout) {
      const shapes = LAYOUTS[spec.type].map((names) => `[${names.join(", ")}]`).join(" or ");
      throw new Error(`parameter '${name}': the range of a ${spec.type} parameter is ${shapes} (got ${spec.range.length} values)`);
    }
    layout.forEach((k, i) => { row[k] = spec.range[i] === undefined ? "" : String(spec.range[i]); });
    return row;
  }

  // A blank row of `type`'s fields.
  function blankRow(type) {
    const row = { name: "", type };
    TYPES.forEach((t) => FIELDS[t].forEach((k) => { row[k] = ""; }));
    return row;
  }

  return { TYPES, FIELDS, REQUIRED, LIST, labelOf, isList, parseNumber, parseChoices, choicesText, check, rowFromSpec, blankRow };
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
    const row = { id: this.nextId++, touched: false, ...SpaceRules.blankRow(SpaceRules.TYPES[0]) };
    this.rows.push(row);
    this.render();
    const input = this.tbody.querySelector(`tr[data-row="${row.id}"] input[data-key=name]`);
    if (input) input.focus();
  }

  // {spec, errors: {rowId: {error, field}}}; spec holds the rows that could
  // be turned into the library's format (the server checks their rules).
  collect() {
    const spec = {};
    const errors = {};
    const names = new Set();
    for (const row of this.rows) {
      const name = row.name.trim();
      if (!name) { errors[row.id] = { error: "name is required", field: "name" }; continue; }
      if (names.has(name)) { errors[row.id] = { error: `duplicate parameter name '${name}'`, field: "name" }; continue; }
      names.add(name);
      const result = SpaceRules.check(row);
      if (result.error) errors[row.id] = result;
      else spec[name] = result.spec;
    }
    return { spec, errors, count: this.rows.length };
  }

  // Names of the rows of a quantized type (one with a q in its range).
  quantizedNames() {
    return this.rows.filter((r) => SpaceRules.FIELDS[r.type]?.includes("q")).map((r) => r.name.trim()).filter(Boolean);
  }

  // Server messages come keyed "search_space.<name>"; they replace the
  // previous ones.
  setServerErrors(errors) {
    this.serverErrors = {};
    for (const [key, message] of Object.entries(errors || {})) {
      if (key.startsWith("search_space.")) this.serverErrors[key.slice(13)] = message.replace(/^parameter '[^']*': /, "");
    }
    this.showErrors();
  }

  // A row's own problem (once touched, or after a submit) comes first; else
  // the server's message for that parameter.
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
        input.classList.toggle("invalid", Boolean(message) && Boolean(local) && visible && input.dataset.key === local.field);
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
      // the server's message was about the row as it was
      delete this.serverErrors[row.name.trim()];
      row[key] = event.target.value;
      if (key === "type") { this.render(); return; }
      this.showErrors();
      this.onChange();
    };
    const touch = () => { row.touched = true; this.showErrors(); };
    const input = (key) => {
      const list = SpaceRules.isList(row.type);
      const placeholder = list ? "relu, tanh   or   [\"a,b\", 3, true]" : SpaceRules.REQUIRED[row.type].has(key) ? "" : "optional";
      return hp.el("label", { class: "mini " + key },
        hp.el("span", {}, SpaceRules.labelOf(key)),
        hp.el("input", { "data-key": key, value: row[key] ?? "", placeholder, size: list ? 30 : 8, "aria-label": `${row.name || "parameter"} ${SpaceRules.labelOf(key)}`, oninput: update(key), onblur: touch }));
    };
    const range = hp.el("div", { class: "range-fields" });
    for (const key of SpaceRules.FIELDS[row.type] || []) range.append(input(key));
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
