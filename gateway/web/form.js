// The detect form every modality page shares: file inputs (with drop), detector/version, rule and alpha,
// plus page-specific fields; a status line, an error box that shows the API's message, and a result area.

import {api, describe} from "./api.js";
import {h, replace, uid} from "./dom.js";

const RULES = [
  ["alpha", "p ≤ alpha (per item)"],
  ["bh", "Benjamini–Hochberg (FDR)"],
  ["by", "Benjamini–Yekutieli (FDR)"],
];

function field(label, input, hint) {
  const hintId = hint ? uid("hint") : undefined;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", {class: "field"}, h("label", {for: input.id}, label), input,
    hint ? h("small", {id: hintId, class: "hint"}, hint) : null);
}

/** A labelled file input inside a drop zone (dropping a file fills the input). */
function fileField(spec) {
  const input = h("input", {type: "file", id: uid(`file-${spec.name}`), name: spec.name, accept: spec.accept,
    multiple: Boolean(spec.multiple), required: true});
  const zone = h("div", {class: "drop"}, field(spec.label, input, spec.hint));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }
  });
  return {zone, input};
}

/** A labelled numeric/text/select control for page-specific options. */
export function option(label, attrs, hint) {
  const id = uid(attrs.name || "opt");
  if (attrs.options) {
    const select = h("select", {id, name: attrs.name},
      attrs.options.map(([value, text]) => h("option", {value, selected: value === attrs.value}, text)));
    return {wrap: field(label, select, hint), input: select};
  }
  const input = h("input", {id, ...attrs});
  return {wrap: field(label, input, hint), input};
}

/**
 * Build a detect form for `modality`. `files` lists the file inputs ({name, label, accept, multiple, hint});
 * `extra` are option() results; `run(files, query, ui)` does the call and renders into `ui.result`.
 */
export function detectForm(container, {modality, files, extra = [], run, submitLabel = "Detect"}) {
  const inputs = files.map(fileField);
  const detectors = h("datalist", {id: uid("detectors")});
  const versions = h("datalist", {id: uid("versions")});
  const detector = option("Detector", {name: "detector", type: "text", list: detectors.id, placeholder: "service default",
    autocomplete: "off"}, "Empty: the service's default detector.");
  const version = option("Model version", {name: "version", type: "text", list: versions.id, placeholder: "latest",
    autocomplete: "off"}, "Empty: the latest stored version.");
  const rule = option("Decision rule", {name: "rule", options: RULES, value: "alpha"},
    "FDR rules control the false discovery rate over the batch.");
  const alpha = option("Alpha", {name: "alpha", type: "number", min: "0.0001", max: "0.5", step: "any", value: "0.01",
    required: true, inputmode: "decimal"}, "Level (alpha rule) or FDR target (BH / BY), between 0 and 0.5.");
  const submit = h("button", {type: "submit", class: "primary"}, submitLabel);
  const status = h("p", {class: "status", role: "status", "aria-live": "polite"});
  const error = h("div", {class: "error", role: "alert", hidden: true});
  const result = h("section", {class: "result", "aria-label": "Result"});
  const form = h("form", {class: "detect", "aria-label": `${modality} detection`},
    h("fieldset", {}, h("legend", {}, "Input"), inputs.map((i) => i.zone)),
    h("fieldset", {}, h("legend", {}, "Model"), detector.wrap, version.wrap, detectors, versions),
    h("fieldset", {}, h("legend", {}, "Decision"), rule.wrap, alpha.wrap, extra.map((e) => e.wrap)),
    h("div", {class: "actions"}, submit));
  replace(container, form, status, error, result);

  api(`v1/services/${encodeURIComponent(modality)}/model`).then((body) => {
    const info = body.model || {};
    const names = info.detectors && info.detectors.length ? info.detectors : [info.detector].filter(Boolean);
    replace(detectors, names.map((name) => h("option", {value: name})));
    if (info.version) replace(versions, h("option", {value: info.version}));
    version.input.placeholder = info.version ? `latest (${info.version})` : "latest";
    detector.input.placeholder = info.detector ? `service default (${info.detector})` : "service default";
  }).catch((failure) => {
    status.textContent = `Model information unavailable: ${describe(failure)}`;
  });

  const ui = {
    result, status, error,
    fail(failure) {
      error.hidden = false;
      replace(error, h("strong", {}, "Request failed: "), describe(failure));
      status.textContent = "";
    },
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const value = Number(alpha.input.value);
    if (!form.reportValidity() || !(value > 0 && value < 1)) return;
    const chosen = inputs.map((i) => [i.input.name, [...i.input.files]]);
    const query = {rule: rule.input.value, alpha: alpha.input.value, detector: detector.input.value.trim(),
      version: version.input.value.trim()};
    for (const e of extra) query[e.input.name] = e.input.type === "checkbox" ? e.input.checked : e.input.value;
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    status.textContent = "Scoring…";
    replace(result);
    try {
      await run(Object.fromEntries(chosen), query, ui);
      if (!status.textContent || status.textContent === "Scoring…") status.textContent = "Done.";
    } catch (failure) {
      ui.fail(failure);
    } finally {
      submit.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  return {form, ui, inputs};
}
