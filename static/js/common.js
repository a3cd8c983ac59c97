// Helpers shared by every page: DOM building (text only, never HTML from data),
// JSON calls with the CSRF token, formatting, toasts, a confirm dialog.
"use strict";

const hp = (() => {
  // el("td", {class: "num", title: t}, "text", childNode): children are text or nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") Object.assign(node.style, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) return input.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // Resolves to {ok, status, data}; data is the parsed JSON body or null.
  async function api(url, options = {}) {
    const init = { method: options.method || "GET", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (init.method !== "GET") {
      init.headers["X-CSRFToken"] = csrf();
      if (options.body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(options.body);
      }
    }
    if (options.signal) init.signal = options.signal;
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      if (err.name === "AbortError") throw err;
      return { ok: false, status: 0, data: { errors: { __all__: "network error: " + err.message } } };
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  function errorText(result) {
    const errors = result.data && result.data.errors;
    if (!errors) return `request failed (HTTP ${result.status})`;
    return Object.entries(errors).map(([k, v]) => (k === "__all__" ? v : `${k}: ${v}`)).join("; ");
  }

  // POST a control and report the outcome; resolves to the result.
  async function post(url, what) {
    const result = await api(url, { method: "POST" });
    if (result.ok) toast(what + ": done");
    else toast(what + " failed: " + errorText(result), "error");
    return result;
  }

  function toast(message, kind = "info") {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = el("div", { class: "toast " + kind }, message);
    box.append(item);
    setTimeout(() => item.classList.add("leaving"), kind === "error" ? 6000 : 2500);
    setTimeout(() => item.remove(), kind === "error" ? 6500 : 3000);
  }

  // A modal confirmation (a <dialog>, so no browser alert); resolves true/false.
  function confirmAction(message, okLabel = "Confirm") {
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog || !dialog.showModal) return Promise.resolve(window.confirm(message));
    dialog.querySelector(".confirm-text").textContent = message;
    dialog.querySelector("#confirm-ok").textContent = okLabel;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  // The one question before a trial leaves the model's view (the study's table and the trial page).
  function confirmExclude(number) {
    return confirmAction(`Exclude trial #${number} from the model's view? The search algorithm and the best config stop seeing it; its compute still counts against the budget. You can include it again.`, "Exclude trial");
  }

  // The one question before a plan far over its budget starts (the New-study form and a
  // draft's own page): above 1.1, the planner's own tolerance of 10%, it starts only when
  // confirmed. Resolves true when it may start.
  const OVER_BUDGET = 1.1;
  function confirmOverBudget(budgetUsed, wallSeconds, budgetSeconds) {
    if (!(budgetUsed > OVER_BUDGET)) return Promise.resolve(true);
    return confirmAction(
      `This plan uses ${Math.round(budgetUsed * 100)}% of its budget ` +
      `(about ${duration(wallSeconds)} of wall time against ${duration(budgetSeconds)}). ` +
      "Start it anyway?", "Start anyway");
  }

  // -- formatting ----------------------------------------------------------------
  function num(v, digits = 4) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    return Number(v.toPrecision(digits)).toString();
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  function time(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function ago(iso) {
    if (!iso) return "—";
    const s = (Date.now() - new Date(iso).getTime()) / 1000;
    return s < 5 ? "just now" : duration(s) + " ago";
  }

  function paramValue(v) {
    if (typeof v === "number") return num(v, 4);
    if (v === null) return "None";
    if (typeof v === "boolean") return v ? "True" : "False";
    return String(v);
  }

  // A JSON value as Python source: True/False/None, repr-style strings.
  function pythonLiteral(value, indent = 0) {
    const pad = " ".repeat(indent);
    if (value === null || value === undefined) return "None";
    if (value === true) return "True";
    if (value === false) return "False";
    if (typeof value === "number") return Number.isFinite(value) ? String(value) : `float("${value}")`;
    if (typeof value === "string") {
      const escaped = value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
      return `'${escaped}'`;
    }
    if (Array.isArray(value)) return "[" + value.map((v) => pythonLiteral(v, indent)).join(", ") + "]";
    const items = Object.entries(value).map(([k, v]) => `${pad}    ${pythonLiteral(k)}: ${pythonLiteral(v, indent + 4)},`);
    return items.length ? "{\n" + items.join("\n") + "\n" + pad + "}" : "{}";
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      const area = el("textarea", { style: { position: "fixed", opacity: "0" } });
      area.value = text;
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (__) { ok = false; }
      area.remove();
      return ok;
    }
  }

  function badge(state) {
    return el("span", { class: "badge s-" + state }, state);
  }

  // Calls fn every `ms` while it returns true; waits for the previous call;
  // pauses while the tab is hidden. Returns {stop(), now()}.
  function poll(fn, ms) {
    let timer = null;
    let stopped = false;
    let busy = false;
    async function tick() {
      timer = null;
      if (stopped || busy) return;
      if (document.hidden) { timer = setTimeout(tick, ms); return; }
      busy = true;
      let again = true;
      try { again = await fn(); } catch (err) { console.error(err); }
      busy = false;
      if (again !== false && !stopped) timer = setTimeout(tick, ms);
    }
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && !stopped && timer === null && !busy) tick();
    });
    tick();
    return {
      stop() { stopped = true; if (timer) clearTimeout(timer); },
      now() { if (timer) clearTimeout(timer); if (!busy) tick(); },
      restart() { stopped = false; if (!timer && !busy) tick(); },
    };
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function readJSON(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Colours live in static/css/app.css (light and dark): charts read them there.
  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const STATES = ["queued", "running", "paused", "completed", "stopped", "failed", "killed", "lost", "draft"];
  const STATE_COLORS = {};

  function chartColors() {
    const c = {
      text: cssVar("--chart-text"), grid: cssVar("--chart-grid"), accent: cssVar("--chart-accent"),
      accentFill: cssVar("--chart-accent-fill"), best: cssVar("--chart-best"), muted: cssVar("--chart-muted"),
      shade: cssVar("--chart-shade"), lightness: cssVar("--chart-lightness") || "45%",
    };
    STATES.forEach((s) => { STATE_COLORS[s] = cssVar(`--s-${s}`); });
    return c;
  }

  // Chart.js defaults: no animation (live data), compact fonts, the scheme's colours.
  function themeCharts() {
    const c = chartColors();
    Chart.defaults.color = c.text;
    Chart.defaults.borderColor = c.grid;
    return c;
  }

  if (window.Chart) {
    Chart.defaults.animation = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 11;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.display = false;
    Chart.defaults.plugins.tooltip.animation = false;
    Chart.defaults.elements.point.radius = 2;
    themeCharts();
    // the reader switches the scheme: new defaults, and each page redraws its charts
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      themeCharts();
      document.dispatchEvent(new CustomEvent("hp:scheme"));
    });
  } else {
    chartColors();
  }

  return {
    el, append, clear, csrf, api, post, errorText, toast, confirmAction, confirmExclude, confirmOverBudget, num, duration, time, ago,
    paramValue, pythonLiteral, copy, badge, poll, debounce, readJSON, STATE_COLORS, chartColors,
  };
})();
