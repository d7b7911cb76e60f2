// Graphs: upload an edge list and a feature matrix, see the flagged nodes with their most influential
// neighbours, and a drawing of a chosen node's ego-graph.

import {upload} from "./api.js";
import {parseEdges} from "./csv.js";
import {drawEgoGraph} from "./egograph.js";
import {detectForm, option} from "./form.js";
import {badge, fmt, h, table} from "./dom.js";

export const title = "Graphs";

export function render(container) {
  const explain = option("Nodes explained", {name: "explain_top_k", type: "number", min: "0", max: "100",
    value: "10"}, "The highest-scored nodes whose influential neighbours are listed.");
  detectForm(container, {
    modality: "graph",
    files: [
      {name: "edges", label: "Edge list", accept: ".txt,.csv,.tsv,.edges,text/plain",
        hint: "One edge per line: source target [time]."},
      {name: "features", label: "Node features", accept: ".csv,.txt,.tsv,text/csv,text/plain",
        hint: "One row of feature values per node."},
    ],
    extra: [explain],
    async run(files, query, ui) {
      const body = await upload("v1/graph/detect/upload", query,
        [["edges", files.edges[0]], ["features", files.features[0]]]);
      const adjacency = new Map();
      for (const [a, b] of parseEdges(await files.edges[0].text())) {
        if (!adjacency.has(a)) adjacency.set(a, new Set());
        if (!adjacency.has(b)) adjacency.set(b, new Set());
        adjacency.get(a).add(b);
        adjacency.get(b).add(a);
      }
      const byNode = new Map(body.results.map((r) => [r.node, r]));
      const evidence = new Map(body.evidence.map((e) => [e.node, e]));
      const flaggedSet = new Set(body.results.filter((r) => r.anomalous).map((r) => r.node));
      let listed = body.results.filter((r) => r.anomalous);
      const noneFlagged = !listed.length;
      if (noneFlagged) listed = body.evidence.map((e) => byNode.get(e.node)).filter(Boolean);
      listed.sort((a, b) => b.score - a.score);
      ui.status.textContent = `${flaggedSet.size} of ${body.results.length} node(s) flagged (${body.rule}, ` +
        `p-value threshold ${fmt(body.p_value_threshold)}).`;
      const ego = h("div", {class: "ego-host", "aria-live": "polite"});
      const show = (node) => {
        const influence = new Map((evidence.get(node)?.neighbors || []).map((v) => [v.node, v.influence]));
        drawEgoGraph(ego, {center: node, adjacency, influence, flagged: flaggedSet});
      };
      const rows = listed.map((r) => h("tr", {class: r.anomalous ? "flagged" : ""},
        h("th", {scope: "row"}, String(r.node)), h("td", {}, fmt(r.score)), h("td", {}, fmt(r.p_value)),
        h("td", {}, badge(r.anomalous)),
        h("td", {class: "neighbours"}, (evidence.get(r.node)?.neighbors || []).slice(0, 5)
          .map((v) => h("span", {class: "chip"}, `${v.node} (${fmt(v.influence, 2)})`))),
        h("td", {}, h("button", {type: "button", onclick: () => show(r.node)}, `Ego-graph of ${r.node}`))));
      ui.result.append(
        noneFlagged ? h("p", {class: "hint"}, "No node flagged at this level; the explained nodes, by score:") : "",
        h("div", {class: "graph-result"},
          table(noneFlagged ? "Highest-scored nodes" : "Flagged nodes",
            ["node", "score", "p-value", "decision", "influential neighbours", ""], rows, {class: "nodes"}),
          ego));
      if (listed.length) show(listed[0].node);
    },
  });
}
