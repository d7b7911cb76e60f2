// Services: readiness of every routed service (/v1/services, /readyz), each model's version, training
// summary and metrics (/v1/services/<modality>/model), links to /metrics and /docs.

import {api, describe} from "./api.js";
import {fmt, h, replace, table} from "./dom.js";

export const title = "Services";

function summaryList(object) {
  const entries = Object.entries(object || {});
  if (!entries.length) return h("p", {class: "hint"}, "none recorded");
  return h("dl", {class: "kv"}, entries.flatMap(([key, value]) => [h("dt", {}, key),
    h("dd", {}, typeof value === "object" && value !== null ? JSON.stringify(value) : fmt(value))]));
}

async function modelCard(service) {
  const card = h("article", {class: "card", "aria-label": `${service.name} model`},
    h("h3", {}, service.name), h("p", {class: "hint"}, "loading model information…"));
  api(`v1/services/${encodeURIComponent(service.modality)}/model`).then(({model}) => {
    replace(card, h("h3", {}, service.name),
      h("dl", {class: "kv"},
        h("dt", {}, "detector"), h("dd", {class: "detector"}, model.detector),
        h("dt", {}, "version"), h("dd", {class: "version"}, model.version),
        h("dt", {}, "backend"), h("dd", {}, model.backend || "inline"),
        h("dt", {}, "created"), h("dd", {}, model.created_at || "–"),
        h("dt", {}, "calibration scores"), h("dd", {}, String(model.calibration_size ?? "–")),
        h("dt", {}, "detectors installed"), h("dd", {}, (model.detectors || []).join(", ") || model.detector),
        h("dt", {}, "input"), h("dd", {}, model.input_description || "–")),
      h("h4", {}, "Training summary"), summaryList(model.training_summary),
      h("h4", {}, "Metrics at fit time"), summaryList(model.metrics));
  }).catch((failure) => {
    replace(card, h("h3", {}, service.name), h("p", {class: "error-inline"}, describe(failure)));
  });
  return card;
}

export async function render(container) {
  const refresh = h("button", {type: "button", onclick: () => render(container)}, "Refresh");
  const links = h("p", {class: "links"}, h("a", {href: "metrics"}, "Prometheus metrics (/metrics)"), " · ",
    h("a", {href: "docs"}, "API documentation (/docs)"), " · ", refresh);
  const status = h("p", {class: "status", role: "status", "aria-live": "polite"}, "Checking services…");
  replace(container, links, status);
  let services;
  let ready;
  try {
    [services, ready] = await Promise.all([api("v1/services"), api("readyz", {accept: [503]})]);
  } catch (failure) {
    status.textContent = "";
    container.append(h("div", {class: "error", role: "alert"}, h("strong", {}, "Cannot list services: "),
      describe(failure)));
    return;
  }
  const list = services.services || [];
  const waiting = ready && ready.not_ready && ready.not_ready.length ? `; waiting for ${ready.not_ready.join(", ")}` : "";
  status.textContent = `Gateway ${ready && ready.ready ? "ready" : "not ready"}: ` +
    `${list.filter((x) => x.ready).length} of ${list.length} service(s) serving${waiting}.`;
  const rows = list.map((x) => h("tr", {"data-service": x.name},
    h("th", {scope: "row"}, x.name), h("td", {}, x.modality), h("td", {}, h("code", {}, x.address)),
    h("td", {class: "readiness"}, h("span", {class: x.ready ? "badge ok" : "badge bad"},
      x.ready ? "ready" : "not ready")),
    h("td", {}, h("a", {href: `#/${encodeURIComponent(x.modality)}`}, "Open"))));
  container.append(
    list.length ? table("Routed services", ["service", "modality", "address", "readiness", "console"], rows,
      {class: "services"}) : h("p", {}, "This gateway routes no service."),
    h("h2", {}, "Models"),
    h("div", {class: "cards"}, await Promise.all(list.map(modelCard))));
}
