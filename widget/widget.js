// <waldur-agent-widget>: the status of a project's resources served by a
// Waldur site agent (package widget of waldur-agent-go).
//
//   <script type="module" src="https://agent.example.com/widget/widget.js"></script>
//   <waldur-agent-widget api-key="wak_..."></waldur-agent-widget>
//
// Attributes: api-key (or the apiKey property, which keeps the key out of the
// DOM), api (the status URL; default "status" next to this module), refresh
// (seconds between reloads, default 60, 0 for never). The key is sent in the
// Authorization header only. No inline script or style is used, so the page's
// Content-Security-Policy may forbid both. Restyle with the CSS custom
// properties below, or with ::part(widget|header|resource|chart|keys|error).
// Every component shows its usage; one with a limit also a bar against it.
// Events: "waldur-widget-load" (detail: the status) and "waldur-widget-error"
// (detail: {status, code}).

const css = `
:host {
  display: block;
  font-family: var(--waldur-widget-font, system-ui, sans-serif);
  font-size: var(--waldur-widget-font-size, 14px);
  color: var(--waldur-widget-color, #1f2933);
}
.widget {
  background: var(--waldur-widget-background, #fff);
  border: 1px solid var(--waldur-widget-border, #d9dee3);
  border-radius: var(--waldur-widget-radius, 8px);
  padding: var(--waldur-widget-padding, 12px 16px);
}
header { display: flex; justify-content: space-between; gap: 1em; align-items: baseline; }
.title { font-weight: 600; font-size: 1.1em; }
.health, .state, .key-state { font-size: 0.85em; border-radius: 1em; padding: 0 0.6em; white-space: nowrap; }
[data-good="true"] { background: var(--waldur-widget-ok, #d3f2dc); }
[data-good="false"] { background: var(--waldur-widget-warn, #fde7c2); }
.error { color: var(--waldur-widget-error, #b42318); margin: 0.5em 0; }
.error:empty { display: none; }
.resource { border-top: 1px solid var(--waldur-widget-border, #d9dee3); margin-top: 0.75em; padding-top: 0.5em; }
h3 { font-size: 1em; margin: 0 0 0.4em; display: flex; gap: 0.6em; align-items: baseline; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: normal; }
td { text-align: right; font-variant-numeric: tabular-nums; padding: 0.1em 0 0.1em 0.6em; }
td.meter { width: 40%; text-align: left; }
.chart { display: block; width: 100%; max-width: 160px; height: auto; }
td.unit { text-align: left; color: var(--waldur-widget-muted, #66707a); }
.track { fill: var(--waldur-widget-track, #eef1f4); }
.bar { fill: var(--waldur-widget-accent, #2f6fde); }
.bar.over { fill: var(--waldur-widget-error, #b42318); }
.keys { list-style: none; padding: 0; margin: 0.4em 0 0; display: flex; flex-wrap: wrap; gap: 0.4em 1em; }
code { font-family: var(--waldur-widget-mono, ui-monospace, monospace); font-size: 0.9em; }
footer, .muted { color: var(--waldur-widget-muted, #66707a); font-size: 0.8em; margin-top: 0.6em; }
`;

let sheet;
function styles(root) {
  if ("adoptedStyleSheets" in root) {
    sheet ??= new CSSStyleSheet();
    if (!sheet.cssRules.length) sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else { // older browsers; needs style-src 'unsafe-inline' under a CSP
    const s = document.createElement("style");
    s.textContent = css;
    root.append(s);
  }
}

const svgNS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

const messages = {
  0: "The site agent could not be reached.",
  401: "The API key was not accepted.",
  403: "This key or page may not show the widget.",
  429: "Too many requests; trying again later.",
};

class WaldurAgentWidget extends HTMLElement {
  static observedAttributes = ["api-key", "api", "refresh"];

  #root;
  #body;
  #key;
  #timer;
  #abort;
  #queued = false;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    styles(this.#root);
    this.#body = el("section", { class: "widget", part: "widget", "data-state": "loading" }, el("p", { class: "muted" }, "Loading…"));
    this.#root.append(this.#body);
  }

  get apiKey() { return this.#key ?? this.getAttribute("api-key") ?? ""; }
  set apiKey(v) { this.#key = v; this.#queue(); }

  connectedCallback() { this.#queue(); }
  disconnectedCallback() { this.#stop(); }
  attributeChangedCallback() { this.#queue(); }

  /** Loads the status now. */
  refresh() { this.#queue(); }

  // An upgrade calls attributeChangedCallback once per attribute and then
  // connectedCallback; all of them together make one request.
  #queue() {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (this.isConnected) this.#reload();
    });
  }

  #stop() {
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  #url() {
    return this.getAttribute("api") || new URL("status", import.meta.url).href;
  }

  async #reload() {
    this.#stop();
    const key = this.apiKey.trim();
    if (!key) {
      this.#fail(0, "missing_api_key", "No API key is set.");
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    let status = 0, code = "unreachable";
    try {
      const resp = await fetch(this.#url(), {
        headers: { Authorization: "Bearer " + key, Accept: "application/json" },
        cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer", signal: abort.signal,
      });
      status = resp.status;
      const body = await resp.json().catch(() => ({}));
      if (abort.signal.aborted) return; // a newer load replaced this one
      if (resp.ok) {
        this.#render(body);
        this.dispatchEvent(new CustomEvent("waldur-widget-load", { detail: body }));
      } else {
        code = body.code || "http_" + status;
        this.#fail(status, code, messages[status] || `The status could not be loaded (HTTP ${status}).`);
      }
    } catch {
      if (abort.signal.aborted) return;
      this.#fail(status, code, messages[0]);
    }
    const every = Number(this.getAttribute("refresh") ?? 60);
    if (every > 0 && !abort.signal.aborted) {
      this.#timer = setTimeout(() => this.#reload(), Math.max(every, 5) * 1000);
    }
  }

  #fail(status, code, message) {
    this.#body.replaceChildren(el("p", { class: "error", part: "error", role: "alert" }, message));
    this.#body.dataset.state = "error";
    this.#body.dataset.code = code;
    this.dispatchEvent(new CustomEvent("waldur-widget-error", { detail: { status, code } }));
  }

  #number(v) {
    const lang = this.closest("[lang]")?.lang || undefined;
    return new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }).format(v);
  }

  #render(s) {
    const header = el("header", { part: "header" }, el("span", { class: "title" }, s.project?.name || "Project"));
    if (s.agent) {
      const ok = s.agent.live && s.agent.ready;
      header.append(el("span", { class: "health", "data-good": String(ok) }, ok ? "Agent ready" : "Agent not ready"));
    }
    const parts = [header];
    if (!s.resources?.length) {
      parts.push(el("p", { class: "muted empty" }, "No resources in this project."));
    }
    for (const r of s.resources ?? []) parts.push(this.#resource(r));
    const when = s.updated ? new Date(s.updated).toLocaleTimeString(this.closest("[lang]")?.lang || undefined) : "";
    parts.push(el("footer", {}, `Usage of ${s.month}` + (when ? ` · updated ${when}` : "")));
    this.#body.replaceChildren(...parts);
    this.#body.dataset.state = "ready";
    delete this.#body.dataset.code;
  }

  #resource(r) {
    const good = r.state === "OK";
    const art = el("article", { class: "resource", part: "resource", "data-uuid": r.uuid },
      el("h3", {}, el("span", { class: "name" }, r.name),
        el("span", { class: "state", "data-good": String(good), "data-state": r.state }, r.state)));
    if (r.usage?.length) {
      const table = el("table", { class: "usage", part: "chart" });
      for (const u of r.usage) {
        const limited = u.limit != null;
        const used = this.#number(u.usage) + (limited ? ` of ${this.#number(u.limit)}` : "");
        table.append(el("tr", { "data-type": u.type, "data-usage": String(u.usage), "data-limit": limited ? String(u.limit) : "" },
          el("th", {}, u.name),
          el("td", { class: "meter" }, limited ? this.#bar(u) : el("span", { class: "muted" }, "no limit")),
          el("td", { class: "used" }, used),
          el("td", { class: "unit" }, u.unit || "")));
      }
      art.append(table);
    }
    const keys = el("ul", { class: "keys", part: "keys", "aria-label": "API keys" });
    for (const k of r.keys ?? []) {
      const li = el("li", { "data-client-id": k.client_id }, el("code", {}, k.client_id), " ");
      if (k.public_id) li.append(el("code", { class: "muted", title: "the key's public id" }, k.public_id), " ");
      li.append(el("span", { class: "key-state", "data-good": String(k.state === "OK"), "data-state": k.state }, k.state));
      keys.append(li);
    }
    if (!r.keys?.length) keys.append(el("li", { class: "muted" }, "No API keys."));
    art.append(keys);
    return art;
  }

  // The chart: a bar of the usage against the limit, red when over it.
  #bar(u) {
    const w = 120, h = 10;
    const frac = u.limit > 0 ? Math.min(u.usage / u.limit, 1) : (u.usage > 0 ? 1 : 0);
    const chart = svg("svg", { class: "chart", viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img",
      "aria-label": `${u.name}: ${this.#number(u.usage)} of ${this.#number(u.limit)}` });
    chart.append(svg("rect", { class: "track", x: 0, y: 0, width: w, height: h, rx: 3 }));
    const bar = svg("rect", { class: "bar", x: 0, y: 0, width: (w * frac).toFixed(1), height: h, rx: 3, "data-type": u.type });
    if (u.usage > u.limit) bar.classList.add("over");
    chart.append(bar);
    return chart;
  }
}

if (!customElements.get("waldur-agent-widget")) {
  customElements.define("waldur-agent-widget", WaldurAgentWidget);
}

export { WaldurAgentWidget };
