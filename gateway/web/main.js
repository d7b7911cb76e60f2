// The console's shell: the API-key field, navigation built from /v1/services (one page per routed
// modality, a generic page for modalities without a view of their own), hash routing, and a last-resort
// error display so a failure never leaves a blank page.

import {api, apiKey, describe, setApiKey} from "./api.js";
import {h, replace} from "./dom.js";
import * as generic from "./view_generic.js";
import * as graph from "./view_graph.js";
import * as logs from "./view_logs.js";
import * as services from "./view_services.js";
import * as timeseries from "./view_timeseries.js";
import * as vision from "./view_vision.js";

const VIEWS = {timeseries, vision, logs, graph};
const main = document.getElementById("main");
const nav = document.getElementById("nav-list");
const keyInput = document.getElementById("api-key");
const keyHint = document.getElementById("api-key-hint");
const fatal = document.getElementById("fatal");
let modalities = [];

function showFatal(message) {
  fatal.hidden = false;
  replace(fatal, h("strong", {}, "Console error: "), message);
}
window.addEventListener("error", (event) => {
  if (/ResizeObserver loop/.test(event.message || "")) return; // benign: a layout settled one frame later
  showFatal(event.message || "script error");
});
window.addEventListener("unhandledrejection", (event) => showFatal(describe(event.reason)));

keyInput.value = apiKey();
document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  keyInput.dispatchEvent(new Event("change"));
});
keyInput.addEventListener("change", () => {
  setApiKey(keyInput.value.trim());
  keyInput.removeAttribute("aria-invalid");
  keyHint.textContent = keyInput.value ? "Key kept for this browser tab." : "";
  loadNav().then(route);
});
window.addEventListener("polyad:unauthenticated", (event) => {
  keyInput.required = true;
  keyInput.setAttribute("aria-invalid", "true");
  keyHint.textContent = apiKey() ? "The gateway rejected this API key." : "This gateway requires an API key.";
  keyHint.classList.add("needed");
  if (event.detail && !apiKey()) keyInput.focus();
});

async function loadNav() {
  const current = location.hash;
  try {
    modalities = (await api("v1/services")).services.map((x) => x.modality);
  } catch (failure) {
    modalities = [];
    if (failure.status !== 401) showFatal(`cannot list the routed services: ${describe(failure)}`);
  }
  replace(nav, [["services", "Services"], ...modalities.map((m) => [m, VIEWS[m] ? VIEWS[m].title : m])]
    .map(([id, label]) => h("li", {}, h("a", {href: `#/${id}`, "data-page": id,
      "aria-current": current === `#/${id}` ? "page" : false}, label))));
}

function route() {
  const page = decodeURIComponent((location.hash.match(/^#\/([^/?]+)/) || [])[1] || "services");
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = page === "services" ? services : VIEWS[page] || generic;
  const title = page === "services" ? "Services" : view.title || page;
  const heading = h("h1", {tabindex: "-1", id: "page-title"}, title);
  const body = h("div", {class: "page", "data-page": page});
  replace(main, heading, body);
  document.title = `${title} · Polyad console`;
  if (page !== "services" && !modalities.includes(page)) {
    body.append(h("p", {class: "note"}, `“${page}” is not routed by this gateway.`));
    return;
  }
  try {
    const done = view.render(body, {modality: page});
    if (done && done.catch) done.catch((failure) => showFatal(describe(failure)));
  } catch (failure) {
    showFatal(describe(failure));
  }
  if (document.activeElement === document.body || document.activeElement?.closest("nav")) heading.focus();
}

window.addEventListener("hashchange", route);
loadNav().then(route);
