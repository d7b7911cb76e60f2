// A small SVG drawing of one node's ego-graph: the node in the middle, its neighbours on a ring (the most
// influential ones first, edge width by influence), edges among the neighbours, flagged nodes in red.

import {fmt, h, replace, s} from "./dom.js";

const MAX_NEIGHBOURS = 16;

/** adjacency: Map<node, Set<node>>; influence: Map<node, number>; flagged: Set<node>. */
export function drawEgoGraph(container, {center, adjacency, influence, flagged}) {
  const all = [...(adjacency.get(center) || new Set())].filter((n) => n !== center);
  for (const n of influence.keys()) if (!all.includes(n) && n !== center) all.push(n);
  all.sort((a, b) => (influence.get(b) ?? -1) - (influence.get(a) ?? -1) || a - b);
  const shown = all.slice(0, MAX_NEIGHBOURS);
  const size = 280;
  const mid = size / 2;
  const radius = size / 2 - 34;
  const at = new Map([[center, [mid, mid]]]);
  shown.forEach((n, k) => {
    const angle = (2 * Math.PI * k) / Math.max(shown.length, 1) - Math.PI / 2;
    at.set(n, [mid + radius * Math.cos(angle), mid + radius * Math.sin(angle)]);
  });
  const maxInfluence = Math.max(1e-9, ...shown.map((n) => Math.abs(influence.get(n) ?? 0)));
  const edges = [];
  shown.forEach((a, i) => shown.slice(i + 1).forEach((b) => {
    if (adjacency.get(a)?.has(b)) edges.push(s("line", {class: "edge minor", x1: at.get(a)[0], y1: at.get(a)[1],
      x2: at.get(b)[0], y2: at.get(b)[1]}));
  }));
  for (const n of shown) {
    const weight = influence.has(n) ? 1 + 5 * Math.abs(influence.get(n)) / maxInfluence : 1;
    edges.push(s("line", {class: influence.has(n) ? "edge influential" : "edge", x1: mid, y1: mid,
      x2: at.get(n)[0], y2: at.get(n)[1], "stroke-width": weight.toFixed(2)}));
  }
  const nodes = [center, ...shown].map((n) => s("g", {class: `node${n === center ? " center" : ""}${
    flagged.has(n) ? " flagged" : ""}`, transform: `translate(${at.get(n)[0]},${at.get(n)[1]})`},
  s("circle", {r: n === center ? 16 : 12}),
  s("text", {"text-anchor": "middle", dy: "0.35em"}, String(n)),
  s("title", {}, `node ${n}${influence.has(n) ? `, influence ${fmt(influence.get(n))}` : ""}`)));
  const more = all.length - shown.length;
  replace(container,
    h("h3", {}, `Ego-graph of node ${center}`),
    s("svg", {class: "ego", viewBox: `0 0 ${size} ${size}`, role: "img",
      "aria-label": `Node ${center} with ${all.length} neighbour(s); thicker edges are more influential.`},
    edges, nodes),
    h("p", {class: "hint"}, `${shown.length} neighbour(s) drawn${more > 0 ? `, ${more} more not shown` : ""};` +
      " thick edges: influential neighbours; red: flagged nodes."));
}
