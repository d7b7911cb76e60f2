// Any routed modality without a console view of its own: send its DetectRequest as protobuf JSON
// (POST v1/<modality>/detect) and show the answer as JSON.

import {api, describe} from "./api.js";
import {h, replace, uid} from "./dom.js";

export function render(container, {modality}) {
  const fileId = uid("json-file");
  const textId = uid("json-text");
  const file = h("input", {type: "file", id: fileId, accept: ".json,application/json"});
  const text = h("textarea", {id: textId, rows: "8", spellcheck: "false",
    placeholder: '{"...": "the protobuf JSON of the service\'s DetectRequest"}'});
  const status = h("p", {class: "status", role: "status", "aria-live": "polite"});
  const error = h("div", {class: "error", role: "alert", hidden: true});
  const output = h("pre", {class: "json", tabindex: "0", "aria-label": "Answer"});
  file.addEventListener("change", async () => {
    if (file.files.length) text.value = await file.files[0].text();
  });
  const form = h("form", {class: "detect generic", "aria-label": `${modality} detection (JSON)`},
    h("p", {class: "note"}, `No console view yet for “${modality}”: send its DetectRequest as protobuf JSON `,
      "(see ", h("a", {href: "docs"}, "the API docs"), ") and read the answer below."),
    h("div", {class: "field"}, h("label", {for: fileId}, "Request file (JSON)"), file),
    h("div", {class: "field"}, h("label", {for: textId}, "Request body"), text),
    h("div", {class: "actions"}, h("button", {type: "submit", class: "primary"}, "Send")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    status.textContent = "Sending…";
    try {
      const body = await api(`v1/${encodeURIComponent(modality)}/detect`, {method: "POST", body: text.value || "{}"});
      output.textContent = JSON.stringify(body, null, 2);
      status.textContent = "Done.";
    } catch (failure) {
      error.hidden = false;
      replace(error, h("strong", {}, "Request failed: "), describe(failure));
      status.textContent = "";
    }
  });
  replace(container, form, status, error, output);
}
