// The one ES module of every lxmert_viz view (anywidget): it draws the controls it is told about and
// the panels Python rendered, and sends back what the reader did. It computes nothing and loads
// nothing (no CDN, no plotting library): panels arrive as plain HTML/SVG strings.
//
// Synced state (see view.py): root (CSS class), uid, controls [{name, kind, label, options, ...}],
// values {name: value}, panels [{name, html, css, tab}], assets {key: data URI}, tabs [titles].
// What the reader does goes back through synced state only (no custom messages, so every host that
// syncs anywidget traitlets runs it): `events`, a queue of {kind: "set" | "press" | "click" |
// "upload", name, data, seq, session}; Python applies each once and sets `values` in return.

const STYLE = `
.lxv-root{font:13px/1.35 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:100%;overflow-x:auto}
.lxv-row{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:4px 0}
.lxv-ctl{display:inline-flex;gap:5px;align-items:center}
.lxv-ctl select,.lxv-ctl input[type=text],.lxv-ctl textarea{font:inherit;padding:2px 4px;border:1px solid #aaa;border-radius:3px;background:#fff;color:#222}
.lxv-ctl button{font:inherit;padding:2px 10px;border:1px solid #888;border-radius:3px;background:#f4f4f4;color:#222;cursor:pointer}
.lxv-ctl button.lxv-primary{background:#2f6db5;border-color:#2f6db5;color:#fff}
.lxv-ctl button.lxv-on{background:#c9302c;border-color:#c9302c;color:#fff;text-decoration:line-through}
.lxv-ctl button:disabled{opacity:.5;cursor:default}
.lxv-tabs{display:flex;gap:2px;border-bottom:1px solid #bbb;margin:6px 0}
.lxv-tabs button{font:inherit;padding:3px 12px;border:1px solid #bbb;border-bottom:none;background:#eee;cursor:pointer;color:#222}
.lxv-tabs button.lxv-current{background:#fff;font-weight:600}
.lxv-panels{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}
.lxv-panel{max-width:100%}
.lxv-panel svg{display:block;max-width:100%;height:auto}
.lxv-panel [data-lxv-click]{cursor:pointer}
.lxv-busy{opacity:.6}
`;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function toBase64(buf) {
  const bytes = new Uint8Array(buf);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function hideTwin(uid) {
  // The static twin of this view (a separate text/html output, for readers without a kernel) is
  // hidden while the live view is on the page.
  if (!uid || typeof document === "undefined" || document.getElementById("lxv-twin-" + uid)) return;
  const s = el("style");
  s.id = "lxv-twin-" + uid;
  s.textContent = `.lxmert-viz-twin[data-lxv-uid="${uid}"]{display:none!important}` +
    `.jp-OutputArea-child:has(.lxmert-viz-twin[data-lxv-uid="${uid}"]){display:none!important}`;
  document.head.appendChild(s);
}

function render({ model, el: host }) {
  const root = el("div", "lxv-root " + model.get("root"));
  const style = el("style");
  style.textContent = STYLE;
  const tabBar = el("div", "lxv-tabs");
  const controlBox = el("div", "lxv-controls");
  const panelBox = el("div", "lxv-panels");
  root.append(style, tabBar, controlBox, panelBox);
  // keys typed into the view's inputs are the view's: no notebook shortcut may act on them
  root.addEventListener("keydown", (ev) => { if (ev.target.closest("input, textarea, select")) ev.stopPropagation(); });
  host.appendChild(root);
  hideTwin(model.get("uid"));

  let inputs = {};   // name -> {spec, node, input}
  let panelNodes = {}; // name -> {node, html}

  const values = () => model.get("values") || {};
  // Everything the reader does is queued in `events` (each with this view's session and a running
  // number), never written into `values` directly: Python owns the values and applies each event
  // once, in order, so a host that delivers state late or coalesces updates loses nothing and never
  // brings back a stale value.
  const session = Math.random().toString(36).slice(2);
  let queue = [];
  let seq = 0;
  function send(kind, name, data) {
    queue.push({ kind, name, data: data ?? null, seq: ++seq, session });
    queue = queue.slice(-50).map((e, i, all) => (e.kind === "upload" && i < all.length - 3 ? { ...e, data: null } : e));
    model.set("events", queue.slice());
    model.save_changes();
  }
  const setValue = (name, v) => send("set", name, v);

  function optionIndex(spec, v) {
    return (spec.options || []).findIndex((o) => same(o[1], v));
  }

  function buildControl(spec) {
    const wrap = el("span", "lxv-ctl " + (spec.css || ""));
    if (spec.label && !["button", "toggle", "checkbox"].includes(spec.kind)) wrap.append(el("label", "", spec.label));
    let input;
    switch (spec.kind) {
      case "select":
      case "multiselect":
        input = el("select");
        if (spec.kind === "multiselect") { input.multiple = true; input.size = spec.rows || 4; }
        (spec.options || []).forEach((o, i) => { const op = el("option", "", o[0]); op.value = String(i); input.append(op); });
        input.addEventListener("change", () => {
          if (spec.kind === "multiselect") {
            setValue(spec.name, Array.from(input.selectedOptions).map((o) => spec.options[+o.value][1]));
          } else {
            setValue(spec.name, spec.options[+input.value][1]);
          }
        });
        break;
      case "slider": {
        input = el("input");
        input.type = "range"; input.min = spec.min; input.max = spec.max; input.step = spec.step || 1;
        const out = el("output", "lxv-slider-value");
        input.addEventListener("input", () => { out.textContent = input.value; });
        input.addEventListener("change", () => setValue(spec.name, Number(input.value)));
        wrap.append(input, out);
        inputs[spec.name] = { spec, node: wrap, input, out };
        return wrap;
      }
      case "text":
        input = el("input");
        input.type = "text";
        if (spec.placeholder) input.placeholder = spec.placeholder;
        if (spec.width) input.style.width = spec.width;
        input.addEventListener("change", () => setValue(spec.name, input.value));
        // Enter commits at once (a host may swallow the implicit change event of Enter)
        input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") setValue(spec.name, input.value); });
        break;
      case "textarea":
        input = el("textarea");
        input.rows = spec.rows || 3;
        if (spec.width) input.style.width = spec.width;
        input.addEventListener("change", () => setValue(spec.name, input.value));
        break;
      case "checkbox":
        input = el("input");
        input.type = "checkbox";
        input.addEventListener("change", () => setValue(spec.name, input.checked));
        wrap.append(input, el("label", "", spec.label || ""));
        inputs[spec.name] = { spec, node: wrap, input };
        return wrap;
      case "toggle":
        input = el("button", "", spec.label);
        input.title = spec.tooltip || "";
        input.addEventListener("click", () => setValue(spec.name, !input.classList.contains("lxv-on")));
        break;
      case "button":
        input = el("button", spec.primary ? "lxv-primary" : "", spec.label);
        input.title = spec.tooltip || "";
        input.addEventListener("click", () => send("press", spec.name));
        break;
      case "file": {
        input = el("input");
        input.type = "file";
        input.accept = spec.accept || "";
        input.addEventListener("change", async () => {
          const f = input.files && input.files[0];
          if (!f) return;
          const buf = await f.arrayBuffer();
          send("upload", spec.name, { filename: f.name, base64: toBase64(buf) });
          input.value = "";
        });
        break;
      }
      default:
        input = el("span", "", spec.label || spec.name);
    }
    if (spec.disabled) input.disabled = true;
    wrap.append(input);
    inputs[spec.name] = { spec, node: wrap, input };
    return wrap;
  }

  function buildControls() {
    controlBox.replaceChildren();
    inputs = {};
    const rows = {};
    for (const spec of model.get("controls") || []) {
      const key = (spec.tab || "") + "|" + (spec.row || 0);
      if (!rows[key]) {
        rows[key] = el("div", "lxv-row");
        rows[key].dataset.tab = spec.tab || "";
        if (spec.row_label) rows[key].append(el("b", "", spec.row_label));
        controlBox.append(rows[key]);
      }
      rows[key].append(buildControl(spec));
    }
  }

  function syncValues() {
    const v = values();
    for (const [name, { spec, input, out }] of Object.entries(inputs)) {
      const val = v[name];
      if (spec.kind === "select") {
        const i = optionIndex(spec, val);
        if (String(i) !== input.value) input.value = String(i);
      } else if (spec.kind === "multiselect") {
        Array.from(input.options).forEach((o) => { o.selected = (val || []).some((x) => same(x, spec.options[+o.value][1])); });
      } else if (spec.kind === "slider") {
        if (String(val) !== input.value) input.value = String(val);
        out.textContent = String(val);
      } else if (spec.kind === "text" || spec.kind === "textarea") {
        if (document.activeElement !== input && input.value !== (val ?? "")) input.value = val ?? "";
      } else if (spec.kind === "checkbox") {
        input.checked = !!val;
      } else if (spec.kind === "toggle") {
        input.classList.toggle("lxv-on", !!val);
        input.setAttribute("aria-pressed", val ? "true" : "false");
      }
    }
    showTab();
  }

  function showTab() {
    const tabs = model.get("tabs") || [];
    const current = values().tab ?? (tabs[0] || "");
    tabBar.replaceChildren();
    tabBar.style.display = tabs.length ? "" : "none";
    for (const t of tabs) {
      const b = el("button", t === current ? "lxv-current" : "", t);
      b.addEventListener("click", () => setValue("tab", t));
      tabBar.append(b);
    }
    for (const row of controlBox.children) row.style.display = !row.dataset.tab || row.dataset.tab === current ? "" : "none";
    for (const p of model.get("panels") || []) {
      const n = panelNodes[p.name];
      if (n) n.node.style.display = !p.tab || p.tab === current ? "" : "none";
    }
  }

  function resolveAssets(node) {
    const assets = model.get("assets") || {};
    for (const img of node.querySelectorAll("[data-lxv-asset]")) {
      const src = assets[img.getAttribute("data-lxv-asset")];
      if (!src) continue;
      if (img.tagName.toLowerCase() === "img") { if (img.getAttribute("src") !== src) img.setAttribute("src", src); }
      else if (img.getAttribute("href") !== src) img.setAttribute("href", src);
    }
  }

  function drawPanels() {
    const panels = model.get("panels") || [];
    const keep = new Set(panels.map((p) => p.name));
    for (const name of Object.keys(panelNodes)) {
      if (!keep.has(name)) { panelNodes[name].node.remove(); delete panelNodes[name]; }
    }
    panels.forEach((p, i) => {
      let n = panelNodes[p.name];
      if (!n) {
        n = panelNodes[p.name] = { node: el("div"), html: null };
        n.node.addEventListener("click", (ev) => {
          const t = ev.target.closest("[data-lxv-click]");
          if (t && n.node.contains(t)) send("click", p.name, JSON.parse(t.getAttribute("data-lxv-click")));
        });
      }
      n.node.className = "lxv-panel " + (p.css || "");
      if (p.block) n.node.style.flexBasis = "100%";
      if (panelBox.children[i] !== n.node) panelBox.insertBefore(n.node, panelBox.children[i] || null);
      if (n.html !== p.html) {
        n.node.innerHTML = p.html;
        n.html = p.html;
      }
      resolveAssets(n.node);
    });
    root.dataset.draws = String((+root.dataset.draws || 0) + 1);  // lets a test wait for a redraw
    showTab();
  }

  let builtControls = null;
  const onControls = () => {
    // rebuild only when the controls themselves change (a host may re-send unchanged state; a
    // rebuild would drop what the reader is typing)
    const spec = JSON.stringify(model.get("controls") || []);
    if (spec !== builtControls) { buildControls(); builtControls = spec; }
    syncValues();
  };
  const onAssets = () => { for (const n of Object.values(panelNodes)) resolveAssets(n.node); };
  model.on("change:controls", onControls);
  model.on("change:values", syncValues);
  model.on("change:panels", drawPanels);
  model.on("change:assets", onAssets);
  model.on("change:tabs", showTab);
  onControls();
  drawPanels();
  return () => {
    model.off("change:controls", onControls);
    model.off("change:values", syncValues);
    model.off("change:panels", drawPanels);
    model.off("change:assets", onAssets);
    model.off("change:tabs", showTab);
  };
}

export default { render };
