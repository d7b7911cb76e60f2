// Time series: upload a CSV, plot it with the flagged regions shaded and the per-point score underneath.

import {upload} from "./api.js";
import {parseSeriesCsv} from "./csv.js";
import {detectForm} from "./form.js";
import {fmt, h, table} from "./dom.js";
import {createPlot} from "./plot.js";

export const title = "Time series";

export function render(container) {
  detectForm(container, {
    modality: "timeseries",
    files: [{name: "file", label: "Series CSV", accept: ".csv,.tsv,.txt,text/csv",
      hint: "One row per time step, one column per channel; optional header, timestamp and label columns."}],
    async run(files, query, ui) {
      const file = files.file[0];
      const body = await upload("v1/timeseries/detect/csv", query, [["file", file]]);
      const result = body.results[0];
      let parsed = {names: [], channels: []};
      try {
        parsed = parseSeriesCsv(await file.text());
      } catch {
        /* drawn from the scores alone */
      }
      const flagged = result.anomalous.filter(Boolean).length;
      ui.status.textContent = `${result.regions.length} flagged region(s), ${flagged} flagged point(s) of ` +
        `${result.scores.length}.`;
      const plot = h("div", {class: "plot-host"});
      const zoomTo = (region) => {
        const pad = Math.max(10, (region.end - region.start) * 2);
        chart.setView([region.start - pad, region.end + pad]);
      };
      const rows = result.regions.map((region) => h("tr", {},
        h("td", {}, String(region.start)), h("td", {}, String(region.end - 1)), h("td", {}, fmt(region.peak_score)),
        h("td", {}, fmt(region.min_p_value)),
        h("td", {}, h("button", {type: "button", onclick: () => zoomTo(region)}, `Zoom to ${region.start}`))));
      ui.result.append(
        h("dl", {class: "summary"},
          h("dt", {}, "Series"), h("dd", {}, result.id),
          h("dt", {}, "Model"), h("dd", {}, `${body.model.detector} ${body.model.version}`),
          h("dt", {}, "Max score"), h("dd", {}, fmt(result.max_score)),
          h("dt", {}, "Flagged regions"), h("dd", {class: "region-count"}, String(result.regions.length))),
        plot,
        rows.length ? table("Flagged regions", ["first", "last", "peak score", "min p-value", ""], rows,
          {class: "regions"}) : h("p", {}, "No region flagged at this level."));
      const channels = parsed.channels.length === result.scores.length || !parsed.channels.length
        ? parsed.channels : parsed.channels.map((c) => c.slice(0, result.scores.length));
      const chart = createPlot(plot, {channels: channels.length ? channels : [result.scores.map(() => 0)],
        names: channels.length ? parsed.names : ["(series not readable in the browser)"],
        scores: result.scores, regions: result.regions});
    },
  });
}
