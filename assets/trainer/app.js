// The trainer's page: plays one replication through the server's JSON API, injects events,
// and draws the odds from the present. No external resources; everything comes from
// `bloodsim serve`. `window.trainer` exposes the last view and odds (for tests and curious
// trainers in the console).
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLUMNS = { collection: 0, lab: 1, hub: 2, supplier: 2, hospital: 3 };
const STAGE_COLOURS = ["#f9a825", "#e65100", "#c62828", "#7f0000", "#4a0000"];
const state = { view: null, odds: null, playing: false, busy: false, scale: {}, promptSeen: null };
window.trainer = state;

function product() { return Number($("product").value || 0); }

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(message) {
  const m = $("message");
  m.textContent = message || "";
  m.hidden = !message;
}

async function act(path, body) {
  if (state.busy) return false;
  state.busy = true;
  try {
    show(await api(path, Object.assign({ product: product() }, body)));
    say("");
    return true;
  } catch (e) {
    say(e.message);
    return false;
  } finally {
    state.busy = false;
  }
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(x, digits) { return x === null || x === undefined || !isFinite(x) ? "–" : x.toFixed(digits); }

function stageOf(days, levels) {
  let stage = null;
  levels.forEach(([, below], i) => { if (days !== null && days < below) stage = i; });
  return stage;
}

function show(view) {
  state.view = view;
  $("scenario").textContent = view.scenario;
  const clock = $("clock");
  clock.textContent = `${view.time} · period ${view.period} of ${view.periods}` + (view.finished ? " · ended" : "");
  clock.dataset.period = view.period;
  const all = view.days_of_supply[view.groups.length];
  const stage = $("stage");
  if (view.stage === null || view.stage === undefined) {
    stage.textContent = `${fmt(all, 1)} days of ${view.product.replace("_", " ")}: normal`;
    stage.style.background = "var(--ok)";
  } else {
    stage.textContent = `${fmt(all, 1)} days: ${view.alert_levels[view.stage][0]}`;
    stage.style.background = STAGE_COLOURS[Math.min(view.stage, STAGE_COLOURS.length - 1)];
  }
  stage.dataset.stage = view.stage === null ? "" : view.alert_levels[view.stage][0];
  fillMenus(view);
  drawMap(view);
  const list = $("injected");
  list.replaceChildren(...view.injected.map((e) => {
    const li = document.createElement("li");
    li.textContent = `${e.time}: ${e.label}`;
    return li;
  }));
  const prompt = $("prompt");
  prompt.hidden = !view.prompt;
  $("lesson-title").textContent = view.lesson ? `Lesson: ${view.lesson} (day ${fmt(view.prompt_period * view.period_hours / 24, 0)})` : "";
  $("prompt-text").textContent = view.prompt || "";
  // A lesson's step pauses the play where it falls.
  if (view.prompt && view.prompt_period === view.period && state.promptSeen !== view.period) {
    state.promptSeen = view.period;
    if (view.period > 0) setPlaying(false);
  }
  if (view.finished) setPlaying(false);
}

function options(select, names) {
  if (select.options.length === names.length) return;
  select.replaceChildren(...names.map((n, i) => {
    const o = document.createElement("option");
    o.value = typeof n === "string" ? n : i;
    o.textContent = typeof n === "string" ? n : n.label;
    return o;
  }));
}

function fillMenus(view) {
  options($("product"), view.products.map((p, i) => ({ label: p.replace("_", " "), i })));
  options($("hospital"), view.hospitals);
  options($("lab"), view.labs);
  const names = view.sites.map((s) => s.name);
  options($("from"), names);
  options($("to"), names);
}

function drawMap(view) {
  const map = $("map");
  // Columns: collection, labs, hubs (and suppliers), hospitals; stock sites get group bars.
  const X = [0, 150, 300, 590], rowH = 78, barW = 15, barH = 40;
  const counts = [0, 0, 0, 0];
  const pos = view.sites.map((s) => {
    const c = COLUMNS[s.kind] ?? 3;
    return { x: X[c] + 4, y: 6 + rowH * counts[c]++, c };
  });
  const height = 12 + rowH * Math.max(...counts);
  map.setAttribute("viewBox", `0 0 880 ${height}`);
  const parts = [];
  for (const [from, to] of view.links) {
    const moving = view.sites[to].in_transit > 0;
    const a = pos[from], b = pos[to];
    parts.push(el("line", {
      class: moving ? "link moving" : "link",
      x1: a.x + (a.c >= 2 ? 8 * barW + 110 : 110), y1: a.y + 40, x2: b.x - 6, y2: b.y + 40,
    }));
  }
  view.sites.forEach((s, i) => {
    const g = el("g", { "data-site": s.name, "data-stock": s.stock.reduce((a, b) => a + b, 0) });
    const { x, y } = pos[i];
    const holds = s.kind === "hub" || s.kind === "hospital";
    // Collection sites and labs have narrow columns: long names are cut (full name on hover).
    const label = !holds && s.name.length > 14 ? s.name.slice(0, 13) + "…" : s.name;
    const text = el("text", { x, y: y + 18, class: "site-label" }, label);
    text.appendChild(el("title", {}, s.name));
    g.appendChild(text);
    if (holds) {
      const max = Math.max(1, ...s.stock);
      state.scale[s.name] = Math.max(state.scale[s.name] || 0, max);
      const scale = state.scale[s.name];
      // Hubs by the service's alert stages; hospitals (which hold a few days by design) red
      // when a patient's unit was short in the last period.
      const stage = s.kind === "hub" ? stageOf(s.days_of_supply, view.alert_levels) : null;
      const colour = s.kind === "hospital"
        ? (s.short > 0 ? "#c62828" : "#2e7d32")
        : stage === null ? "#2e7d32" : STAGE_COLOURS[Math.min(stage, STAGE_COLOURS.length - 1)];
      s.stock.forEach((units, k) => {
        const h = barH * units / scale;
        const bar = el("rect", { x: x + k * barW, y: y + 24 + barH - h, width: barW - 3, height: Math.max(h, 1), fill: colour });
        bar.appendChild(el("title", {}, `${view.groups[k]}: ${units} units`));
        g.appendChild(bar);
      });
      const units = s.stock.reduce((a, b) => a + b, 0);
      const note = `${units} u · ${fmt(s.days_of_supply, 1)} d` + (s.short > 0 ? ` · ${s.short} short` : "");
      const tx = x + s.stock.length * barW + 6;
      g.appendChild(el("text", { x: tx, y: y + 44, class: "site-note" }, note));
      if (s.in_transit > 0) g.appendChild(el("text", { x: tx, y: y + 64, class: "site-note" }, `+${s.in_transit} on the road`));
    } else {
      g.appendChild(el("text", { x, y: y + 42, class: "site-note" }, s.kind));
    }
    parts.push(g);
  });
  map.replaceChildren(...parts);
  $("legend").textContent = `Bars: units on hand by group (${view.groups.join(", ")}), each site to its own scale. ` +
    `Hubs coloured by the alert stage of their own days of supply; hospitals red when a unit was short in the last period.`;
}

function setPlaying(on) {
  state.playing = on;
  const b = $("play");
  b.textContent = on ? "Pause" : "Play";
  b.setAttribute("aria-pressed", on ? "true" : "false");
  if (on) tick();
}

async function tick() {
  if (!state.playing) return;
  const ok = await act("/api/step", { periods: 1 });
  if (!ok || !state.view || state.view.finished) { setPlaying(false); return; }
  setTimeout(tick, 1000 / Number($("speed").value));
}

function injection() {
  const kind = $("kind").value;
  const days = Number($("days").value);
  const factor = Number($("factor").value);
  switch (kind) {
    case "mass_casualty": return { type: kind, hospital: $("hospital").value, casualties: Number($("casualties").value) };
    case "lab_outage": return { type: kind, lab: $("lab").value, days };
    case "link_cut": return { type: kind, from: $("from").value, to: $("to").value, days };
    case "policy_change": {
      const raw = $("value").value.trim();
      const value = raw === "true" ? true : raw === "false" ? false
        : raw !== "" && isFinite(Number(raw)) ? Number(raw) : raw;
      return { type: kind, path: $("path").value.trim(), value };
    }
    default: return { type: kind, factor, days };
  }
}

function showFields() {
  const kind = $("kind").value;
  for (const label of document.querySelectorAll("#inject-form label[data-for]")) {
    label.hidden = !label.dataset.for.split(" ").includes(kind);
    // Fields of other events take no part in the form (nor in its validation).
    for (const field of label.querySelectorAll("input, select")) field.disabled = label.hidden;
  }
  if (kind === "collection_drop" && Number($("factor").value) >= 1) $("factor").value = 0.5;
  if (kind === "donor_appeal" && Number($("factor").value) <= 1) $("factor").value = 1.5;
}

async function runOdds() {
  const status = $("odds-status");
  const started = performance.now();
  status.textContent = "Running the futures…";
  $("odds-button").disabled = true;
  try {
    const odds = await api("/api/odds", {
      replications: Number($("replications").value),
      days: Number($("ahead").value),
      product: product(),
    });
    state.odds = odds;
    drawOdds(odds);
    status.textContent = `${odds.replications} futures from ${odds.times[0]}, ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s` +
      (odds.without ? " — red: with your events; grey: the same futures without them" : "");
    say("");
  } catch (e) {
    status.textContent = "";
    say(e.message);
  } finally {
    $("odds-button").disabled = false;
  }
}

function drawOdds(odds) {
  const fan = $("fan");
  const W = 600, H = 240, pad = 34;
  const fans = [odds.with].concat(odds.without ? [odds.without] : []);
  const top = Math.max(1, ...fans.flatMap((f) => f.days_of_supply.map((q) => q[4])).filter(isFinite));
  const n = odds.times.length;
  const x = (t) => pad + (W - pad - 8) * (n === 1 ? 0.5 : t / (n - 1));
  const y = (d) => H - pad - (H - 2 * pad) * Math.min(d, top) / top;
  const parts = [el("line", { x1: pad, y1: H - pad, x2: W - 8, y2: H - pad, stroke: "#999" })];
  for (let k = 0; k <= 4; k++) {
    const d = top * k / 4;
    parts.push(el("text", { x: 2, y: y(d) + 4, "font-size": 12, fill: "#555" }, d.toFixed(1)));
  }
  parts.push(el("text", { x: pad, y: H - 8, "font-size": 12, fill: "#555" }, odds.times[0]));
  parts.push(el("text", { x: W - 130, y: H - 8, "font-size": 12, fill: "#555" }, odds.times[n - 1]));
  const band = (f, lo, hi, colour, opacity) => {
    const up = f.days_of_supply.map((q, t) => `${x(t)},${y(q[hi])}`);
    const down = f.days_of_supply.map((q, t) => `${x(t)},${y(q[lo])}`).reverse();
    return el("polygon", { points: up.concat(down).join(" "), fill: colour, "fill-opacity": opacity });
  };
  const median = (f, colour, cls) => el("polyline", {
    class: cls, points: f.days_of_supply.map((q, t) => `${x(t)},${y(q[2])}`).join(" "),
    fill: "none", stroke: colour, "stroke-width": 2.5,
  });
  if (odds.without) {
    parts.push(band(odds.without, 0, 4, "#546e7a", 0.15), band(odds.without, 1, 3, "#546e7a", 0.25));
    parts.push(median(odds.without, "#546e7a", "median-without"));
  }
  parts.push(band(odds.with, 0, 4, "#c62828", 0.15), band(odds.with, 1, 3, "#c62828", 0.3));
  parts.push(median(odds.with, "#c62828", "median-with"));
  parts.push(el("text", { x: pad + 4, y: 14, "font-size": 13, fill: "#333" },
    `Network days of ${odds.product.replace("_", " ")}: median, 25-75% and 5-95% of futures`));
  fan.setAttribute("viewBox", `0 0 ${W} ${H}`);
  fan.replaceChildren(...parts);
  const table = $("odds-table");
  const head = `<tr><th>group</th><th>P(short) ${odds.without ? "with" : ""}</th>${odds.without ? "<th>without</th>" : ""}</tr>`;
  const rows = odds.groups.map((g, i) => {
    const w = (odds.with.shortage_in_window[i] * 100).toFixed(0) + "%";
    const wo = odds.without ? `<td>${(odds.without.shortage_in_window[i] * 100).toFixed(0)}%</td>` : "";
    return `<tr><td>${g}</td><td>${w}</td>${wo}</tr>`;
  });
  table.innerHTML = "<caption>Chance some unit of the group is short in the window</caption>" + head + rows.join("");
}

function typing(e) {
  const t = e.target;
  return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
}

document.addEventListener("keydown", (e) => {
  if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
  const key = e.key.toLowerCase();
  if (key === " ") { e.preventDefault(); setPlaying(!state.playing); }
  else if (key === "arrowright") { e.preventDefault(); act("/api/step", { periods: 1 }); }
  else if (key === "o") { e.preventDefault(); runOdds(); }
  else if (key === "i") { e.preventDefault(); $("inject-form").requestSubmit(); }
  else if (key === "r") { e.preventDefault(); setPlaying(false); state.scale = {}; state.promptSeen = null; act("/api/restart", {}); }
});

$("play").addEventListener("click", () => setPlaying(!state.playing));
$("step").addEventListener("click", () => act("/api/step", { periods: 1 }));
$("restart").addEventListener("click", () => { setPlaying(false); state.scale = {}; state.promptSeen = null; act("/api/restart", {}); });
$("product").addEventListener("change", () => { state.scale = {}; act("/api/view", {}); });
$("kind").addEventListener("change", showFields);
$("inject-form").addEventListener("submit", (e) => { e.preventDefault(); act("/api/inject", { event: injection() }); });
$("odds-form").addEventListener("submit", (e) => { e.preventDefault(); runOdds(); });
showFields();
act("/api/view", {});
