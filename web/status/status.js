// The status page: draws the agent's pipeline from GET /topology (sources -> selectors ->
// channels -> sink groups -> sinks), then polls GET /metrics (Flume's JSON) and, under
// `ingestor up`, GET /roles every second for live rates, channel fill, sink states, and a few
// minutes of history as small uPlot charts. Everything from the server is set as text, never
// parsed as HTML. docs/status-page.md describes the JSON it reads.
"use strict";
(function () {
  // Script errors are kept for tests (tests/test_status_page.py) besides the console.
  window.addEventListener("error", (e) => (window.__errors = window.__errors || []).push(String(e.message)));
  window.addEventListener("unhandledrejection", (e) =>
    (window.__errors = window.__errors || []).push(String(e.reason)));

  const POLL_MS = 1000;
  const HISTORY_S = 300; // seconds of history the charts keep
  const $ = (sel, root = document) => root.querySelector(sel);

  let topology = null;
  let prev = null; // {t, metrics, roles}: the previous poll, for rates
  let polls = 0;
  const wires = []; // [fromNode, toNode, optional]
  const history = { t: [] }; // series name -> values, aligned with history.t
  const charts = [];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v, unit = "") {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    const s = Number.isInteger(v) || a >= 100 ? Math.round(v).toLocaleString("en-US") : a >= 10 ? v.toFixed(1) : v.toFixed(2);
    return s + unit;
  }

  // ---- pipeline -------------------------------------------------------------------------------
  const nodes = new Map(); // "kind:name" -> element

  function addNode(kind, name, type) {
    const n = el("div", "node");
    n.dataset.kind = kind;
    n.dataset.name = name;
    n.append(el("div", "name", name), el("div", "type", type));
    $(`[data-column="${kind}"]`).append(n);
    nodes.set(kind + ":" + name, n);
    return n;
  }

  function addFigure(node, key, label) {
    const f = el("div", "figure");
    f.dataset.figure = key;
    const v = el("span", "value", "–");
    f.append(el("span", "label", label), v);
    node.append(f);
    return v;
  }

  function setValue(node, key, v, unit) {
    const e = node && $(`[data-figure="${key}"] .value`, node);
    if (!e) return;
    e.textContent = fmt(v, unit);
    e.dataset.value = v === null || v === undefined ? "" : String(v);
  }

  function mappingText(m) {
    return Object.entries(m || {}).map(([k, chs]) => `${k} → ${chs.join(" ")}`).join("; ");
  }

  function buildPipeline(t) {
    $("#agent-name").textContent = t.agent;
    document.title = `Ingestor ${t.agent}`;
    const link = (a, b, optional = false) => a && b && wires.push([a, b, optional]);
    const channelNode = (name) => nodes.get("channel:" + name);
    for (const c of t.channels) {
      const n = addNode("channel", c.name, c.type);
      const bar = el("div", "bar");
      bar.append(el("div"));
      n.append(bar);
      addFigure(n, "fill", "fill");
      addFigure(n, "size", "events");
      addFigure(n, "put", "put/s");
      addFigure(n, "take", "take/s");
    }
    for (const s of t.sources) {
      const n = addNode("source", s.name, s.type);
      addFigure(n, "rate", "in/s");
      if (s.interceptors && s.interceptors.length)
        n.append(el("div", "detail", "interceptors: " + s.interceptors.map((i) => i.type).join(", ")));
      const sel = s.selector || { type: "replicating" };
      const sn = addNode("selector", s.name, sel.type);
      const details = [];
      if (sel.header) details.push(`header ${sel.header}`);
      if (Object.keys(sel.mapping || {}).length) details.push(mappingText(sel.mapping));
      if (Object.keys(sel.optional || {}).length) details.push("optional " + mappingText(sel.optional));
      if (sel.default && sel.default.length) details.push("default → " + sel.default.join(" "));
      if (details.length) sn.append(el("div", "detail", details.join("; ")));
      link(n, sn);
      const optional = new Set();
      for (const chs of Object.values(sel.optional || {})) chs.forEach((c) => optional.add(c));
      const required = new Set([...(sel.default || []), ...Object.values(sel.mapping || {}).flat()]);
      for (const c of s.channels) link(sn, channelNode(c), optional.has(c) && !required.has(c));
    }
    const grouped = new Map(); // sink -> group node
    for (const g of t.sinkgroups) {
      const n = addNode("sinkgroup", g.name, g.processor);
      n.append(el("div", "detail", g.sinks.join(", ")));
      g.sinks.forEach((k) => grouped.set(k, n));
    }
    const linked = new Set();
    for (const k of t.sinks) {
      const n = addNode("sink", k.name, k.type);
      addFigure(n, "rate", "out/s");
      const st = el("div", "figure");
      const badge = el("span", "state", "–");
      st.append(el("span", "label", "state"), badge);
      n.append(st);
      let g = grouped.get(k.name);
      if (!g) {
        // A sink outside any group runs alone, as in Flume's default sink processor: drawn as a
        // faint pass-through box so that its wire does not seem to enter another group.
        g = el("div", "node implicit");
        g.dataset.kind = "sinkgroup";
        g.dataset.implicit = "true";
        g.dataset.name = k.name;
        g.append(el("div", "type", "default: " + k.name));
        $('[data-column="sinkgroup"]').append(g);
      }
      const key = k.channel + "->" + g.dataset.name;
      if (!linked.has(key)) link(channelNode(k.channel), g);
      linked.add(key);
      link(g, n);
    }
    for (const col of document.querySelectorAll(".column"))
      col.classList.toggle("empty", col.querySelectorAll(".node").length === 0);
    alignImplicitGroups();
    drawWires();
  }

  // Pass-through boxes sit level with their sink (after the real groups, in sink order).
  function alignImplicitGroups() {
    for (const g of document.querySelectorAll(".node.implicit")) {
      const sink = nodes.get("sink:" + g.dataset.name);
      g.style.marginTop = "0px";
      const dy = sink.getBoundingClientRect().top - g.getBoundingClientRect().top;
      if (dy > 0) g.style.marginTop = dy + "px";
    }
  }

  function drawWires() {
    const svg = $("#wires");
    const box = $("#pipeline").getBoundingClientRect();
    svg.replaceChildren();
    for (const [a, b, optional] of wires) {
      const ra = a.getBoundingClientRect();
      const rb = b.getBoundingClientRect();
      const x1 = ra.right - box.left, y1 = ra.top + ra.height / 2 - box.top;
      const x2 = rb.left - box.left, y2 = rb.top + rb.height / 2 - box.top;
      const dx = Math.max(20, (x2 - x1) / 2);
      const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
      p.setAttribute("d", `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`);
      if (optional) p.setAttribute("class", "optional");
      svg.append(p);
    }
  }

  // ---- figures --------------------------------------------------------------------------------
  const num = (v) => (v === undefined || v === null || v === "" ? NaN : Number(v));

  function rate(cur, old, dt) {
    if (!old || !(dt > 0)) return null;
    const d = num(cur) - num(old);
    return Number.isFinite(d) ? Math.max(0, d) / dt : null;
  }

  function sinkState(m) {
    if (!m) return "–";
    if (num(m.ConsecutiveErrors) > 0 || num(m.UploadErrorsInARow) > 0) return "failing";
    if (num(m.BackingOff) > 0) return "backing off";
    if (num(m.StopTime) > 0) return "stopped";
    return "ok";
  }

  function updatePipeline(metrics, old, dt) {
    let inRate = 0, outRate = 0;
    const fills = {};
    for (const s of topology.sources) {
      const m = metrics["SOURCE." + s.name] || {};
      const o = old && old["SOURCE." + s.name];
      const r = rate(m.EventAcceptedCount, o && o.EventAcceptedCount, dt);
      setValue(nodes.get("source:" + s.name), "rate", r);
      inRate += r || 0;
    }
    for (const c of topology.channels) {
      const m = metrics["CHANNEL." + c.name] || {};
      const o = old && old["CHANNEL." + c.name];
      const n = nodes.get("channel:" + c.name);
      const fill = num(m.ChannelFillPercentage);
      fills[c.name] = Number.isFinite(fill) ? fill : null;
      setValue(n, "fill", fills[c.name], "%");
      setValue(n, "size", num(m.ChannelSize));
      const sizeEl = $('[data-figure="size"] .value', n);
      if (sizeEl && m.ChannelCapacity) sizeEl.textContent += " / " + fmt(num(m.ChannelCapacity));
      setValue(n, "put", rate(m.EventPutSuccessCount, o && o.EventPutSuccessCount, dt));
      setValue(n, "take", rate(m.EventTakeSuccessCount, o && o.EventTakeSuccessCount, dt));
      const bar = $(".bar", n);
      bar.firstChild.style.width = Math.min(100, fills[c.name] || 0) + "%";
      bar.classList.toggle("high", (fills[c.name] || 0) > 80);
    }
    for (const k of topology.sinks) {
      const m = metrics["SINK." + k.name];
      const o = old && old["SINK." + k.name];
      const n = nodes.get("sink:" + k.name);
      const r = rate(m && m.EventDrainSuccessCount, o && o.EventDrainSuccessCount, dt);
      setValue(n, "rate", r);
      outRate += r || 0;
      const badge = $(".state", n);
      badge.textContent = sinkState(m);
      badge.dataset.state = badge.textContent;
    }
    return { inRate, outRate, fills };
  }

  // ---- charts ---------------------------------------------------------------------------------
  // A chart: a title, a role label, and the series it draws (name -> label); `value` picks the
  // headline figure.
  function addChart(id, role, title, series, unit = "") {
    const box = el("div", "chart");
    box.dataset.chart = id;
    const h = el("h4");
    const left = el("span");
    left.append(el("span", "role", role + " "), document.createTextNode(title));
    const value = el("span", "value", "–");
    h.append(left, value);
    box.append(h);
    $("#charts").append(box);
    const colors = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795"];
    for (const s of series) if (!history[s.key]) history[s.key] = history.t.map(() => null);
    const opts = {
      width: Math.max(260, box.clientWidth - 16),
      height: 110,
      legend: { show: series.length > 1, live: false },
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ size: 24, font: "10px sans-serif", grid: { show: false } },
             { size: 44, font: "10px sans-serif", grid: { stroke: "#edf2f7" } }],
      series: [{}].concat(series.map((s, i) => ({
        label: s.label, stroke: colors[i % colors.length], width: 1.5, points: { show: false },
        fill: series.length === 1 ? "rgba(43,108,176,.08)" : undefined,
      }))),
    };
    const plot = typeof uPlot === "function" ? new uPlot(opts, chartData(series), box) : null;
    charts.push({ series, plot, box, value, unit });
  }

  function chartData(series) {
    return [history.t].concat(series.map((s) => history[s.key]));
  }

  function record(t, values) {
    history.t.push(t);
    for (const k of Object.keys(history)) if (k !== "t") history[k].push(k in values ? values[k] : null);
    while (history.t.length && history.t[0] < t - HISTORY_S)
      for (const k of Object.keys(history)) history[k].shift();
  }

  function updateCharts() {
    for (const c of charts) {
      if (c.plot) c.plot.setData(chartData(c.series));
      const last = history[c.series[0].key][history.t.length - 1];
      c.value.textContent = fmt(last, c.unit);
      c.value.dataset.value = last === null || last === undefined ? "" : String(last);
    }
  }

  function buildCharts(t) {
    addChart("events-in", "agent", "events in / s", [{ key: "in", label: "in" }]);
    addChart("events-out", "agent", "events out / s", [{ key: "out", label: "out" }]);
    if (t.channels.length)
      addChart("channel-fill", "agent", "channel fill %",
               t.channels.map((c) => ({ key: "fill:" + c.name, label: c.name })), "%");
    if (t.roles.includes("store")) {
      addChart("store-requests", "store", "requests / s", [{ key: "store:req", label: "requests" }]);
      addChart("store-outbox", "store", "notifications waiting", [{ key: "store:outbox", label: "outbox" }]);
    }
    if (t.roles.includes("relay"))
      addChart("relay-posted", "relay", "posted / s", [{ key: "relay:posted", label: "posted" },
                                                       { key: "relay:failed", label: "failed" }]);
    if (t.roles.includes("consumer")) {
      addChart("consumer-downloads", "consumer", "downloads / s", [{ key: "consumer:dl", label: "downloads" }]);
      addChart("consumer-lag", "consumer", "lag p99", [{ key: "consumer:lag", label: "p99 ms" }], " ms");
      addChart("consumer-dead", "consumer", "dead letters", [{ key: "consumer:dead", label: "dead letters" }]);
    }
  }

  function roleFigures(roles, old, dt) {
    const v = {};
    const g = (r, k) => (roles && roles[r] ? num(roles[r][k]) : NaN);
    const og = (r, k) => (old && old[r] ? old[r][k] : undefined);
    if (roles.store) {
      v["store:req"] = rate(roles.store.requests, og("store", "requests"), dt);
      v["store:outbox"] = g("store", "outboxRows");
    }
    if (roles.relay) {
      v["relay:posted"] = rate(roles.relay.posted, og("relay", "posted"), dt);
      v["relay:failed"] = rate(roles.relay.failed, og("relay", "failed"), dt);
    }
    if (roles.consumer) {
      v["consumer:dl"] = rate(roles.consumer.downloads, og("consumer", "downloads"), dt);
      const lag = g("consumer", "lagMsP99");
      v["consumer:lag"] = Number.isFinite(lag) ? lag : null;
      v["consumer:dead"] = g("consumer", "deadLetters");
    }
    return v;
  }

  // ---- polling --------------------------------------------------------------------------------
  async function getJson(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }

  async function poll() {
    const conn = $("#conn");
    try {
      const [metrics, roles] = await Promise.all([
        getJson("metrics"),
        topology.roles.length ? getJson("roles") : Promise.resolve({}),
      ]);
      const t = Date.now() / 1000;
      const dt = prev ? t - prev.t : 0;
      const agent = updatePipeline(metrics, prev && prev.metrics, dt);
      drawWires();
      const values = { in: agent.inRate, out: agent.outRate, ...roleFigures(roles, prev && prev.roles, dt) };
      for (const [c, f] of Object.entries(agent.fills)) values["fill:" + c] = f;
      if (prev) {
        record(t, values);
        updateCharts();
      }
      prev = { t, metrics, roles };
      polls += 1;
      document.body.dataset.polls = String(polls);
      conn.textContent = "live";
      conn.dataset.state = "live";
      $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      conn.textContent = "no answer: " + e.message;
      conn.dataset.state = "error";
    }
    setTimeout(poll, POLL_MS);
  }

  async function start() {
    try {
      topology = await getJson("topology");
    } catch (e) {
      $("#conn").textContent = "no topology: " + e.message;
      $("#conn").dataset.state = "error";
      setTimeout(start, 2000);
      return;
    }
    topology.roles = topology.roles || [];
    $("#roles-link").hidden = topology.roles.length === 0;
    buildPipeline(topology);
    buildCharts(topology);
    window.addEventListener("resize", () => {
      drawWires();
      for (const c of charts) if (c.plot) c.plot.setSize({ width: Math.max(260, c.box.clientWidth - 16), height: 110 });
    });
    // For tests and the curious: the series behind the charts.
    window.ingestorStatus = { topology, history };
    document.body.dataset.ready = "true";
    poll();
  }

  start();
})();
