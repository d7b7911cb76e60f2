// Images: upload PNG/JPEG files, see each image with its heat-map overlay (opacity slider), score,
// p-value and decision.

import {upload} from "./api.js";
import {detectForm, option} from "./form.js";
import {badge, fmt, h, table, uid} from "./dom.js";

export const title = "Images";

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("the browser cannot display this image"));
    image.src = src;
  });
}

/** A canvas with the image and, on top, the heat map at the slider's opacity. */
function overlay(original, heat, opacity) {
  const canvas = h("canvas", {class: "overlay", width: heat.naturalWidth, height: heat.naturalHeight});
  const draw = () => {
    const ctx = canvas.getContext("2d");
    ctx.globalAlpha = 1;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (original) ctx.drawImage(original, 0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = Number(opacity.value) / 100;
    ctx.drawImage(heat, 0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 1;
  };
  opacity.addEventListener("input", draw);
  draw();
  return canvas;
}

export function render(container) {
  const opacity = option("Heat-map opacity (%)", {name: "opacity", type: "range", min: "0", max: "100", step: "5",
    value: "70"});
  const shown = h("output", {for: opacity.input.id}, "70%");
  opacity.input.addEventListener("input", () => { shown.textContent = `${opacity.input.value}%`; });
  opacity.wrap.append(shown);
  const {ui} = detectForm(container, {
    modality: "vision",
    files: [{name: "files", label: "Images (PNG or JPEG)", accept: "image/png,image/jpeg,.png,.jpg,.jpeg",
      multiple: true, hint: "One or more images; the service resizes them to the model's size."}],
    async run(files, query, view) {
      const body = await upload("v1/vision/detect", {...query, heatmap: true}, files.files.map((f) => ["files", f]));
      const flagged = body.results.filter((r) => r.anomalous).length;
      view.status.textContent = `${flagged} of ${body.results.length} image(s) flagged (${body.rule}, ` +
        `p-value threshold ${fmt(body.p_value_threshold)}).`;
      const rows = body.results.map((r) => h("tr", {}, h("th", {scope: "row"}, r.id), h("td", {}, fmt(r.score)),
        h("td", {}, fmt(r.p_value)), h("td", {}, badge(r.anomalous))));
      const figures = h("div", {class: "figures"});
      view.result.append(figures, table("Images", ["image", "score", "p-value", "decision"], rows));
      for (const [i, r] of body.results.entries()) {
        const file = files.files[i];
        const url = file ? URL.createObjectURL(file) : null;
        const original = url ? await loadImage(url).catch(() => null) : null;
        const heat = r.heatmap_png_base64 ? await loadImage(`data:image/png;base64,${r.heatmap_png_base64}`) : null;
        const captionId = uid("cap");
        const picture = heat ? overlay(original, heat, opacity.input) : original;
        if (picture) picture.setAttribute("aria-labelledby", captionId);
        if (picture) picture.setAttribute("role", "img");
        figures.append(h("figure", {class: r.anomalous ? "flagged" : ""}, picture,
          h("figcaption", {id: captionId}, `${r.id}: score ${fmt(r.score)}, p-value ${fmt(r.p_value)}, `, badge(r.anomalous),
            heat ? " (heat map over the image)" : "")));
      }
    },
  });
  ui.result.before(h("div", {class: "slider"}, opacity.wrap));
}
