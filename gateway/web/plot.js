// An SVG time-series plot: channels on top, the score underneath, flagged regions shaded in both panels.
// Zoom with the wheel or +/-, pan by dragging or with the arrow keys, 0 or double-click resets; the
// buttons do the same for pointer-free use.

import {fmt, h, replace, s, uid} from "./dom.js";

const COLORS = ["#1f5fbf", "#c2571a", "#2e7d32", "#7b3fa0", "#00838f", "#8d6e63"];
const PAD = {left: 56, right: 12, top: 8, bottom: 22};

/** Min/max per pixel column over [i0, i1): keeps spikes visible when points outnumber pixels. */
function decimate(values, i0, i1, columns) {
  const n = i1 - i0;
  if (n <= columns * 2) return Array.from({length: n}, (_, k) => [i0 + k, values[i0 + k]]);
  const out = [];
  for (let c = 0; c < columns; c += 1) {
    const a = i0 + Math.floor((c * n) / columns);
    const b = Math.max(a + 1, i0 + Math.floor(((c + 1) * n) / columns));
    let lo = a;
    let hi = a;
    for (let i = a; i < b; i += 1) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    out.push(...(lo < hi ? [[lo, values[lo]], [hi, values[hi]]] : [[hi, values[hi]], [lo, values[lo]]]));
  }
  return out;
}

function extent(arrays, i0, i1) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of arrays) {
    for (let i = i0; i < i1; i += 1) {
      const v = values[i];
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05];
}

function panel({cls, arrays, colors, label, top, height, width, view, regions, clipId}) {
  const [x0, x1] = view;
  const i0 = Math.max(0, Math.floor(x0));
  const i1 = Math.min(arrays[0] ? arrays[0].length : 0, Math.ceil(x1) + 1);
  const [y0, y1] = extent(arrays, i0, i1);
  const inner = width - PAD.left - PAD.right;
  const X = (i) => PAD.left + ((i - x0) / Math.max(x1 - x0, 1e-9)) * inner;
  const Y = (v) => top + height - ((v - y0) / (y1 - y0)) * height;
  const group = s("g", {class: cls});
  group.append(s("rect", {class: "frame", x: PAD.left, y: top, width: inner, height}));
  const clipped = s("g", {"clip-path": `url(#${clipId})`});
  for (const region of regions) {
    const xa = X(region.start - 0.5);
    const xb = X(region.end - 0.5);
    clipped.append(s("rect", {class: "region", x: xa, y: top, width: Math.max(xb - xa, 1.5), height,
      "data-start": region.start, "data-end": region.end},
    s("title", {}, `flagged ${region.start}–${region.end - 1}, peak score ${fmt(region.peak_score)}`)));
  }
  arrays.forEach((values, k) => {
    const points = decimate(values, i0, i1, Math.max(10, Math.round(inner)))
      .filter(([, v]) => v !== null && Number.isFinite(v))
      .map(([i, v]) => `${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    clipped.append(s("polyline", {class: "line", points, stroke: colors[k % colors.length]}));
  });
  group.append(clipped);
  group.append(s("text", {class: "tick", x: PAD.left - 4, y: top + 10, "text-anchor": "end"}, fmt(y1, 3)));
  group.append(s("text", {class: "tick", x: PAD.left - 4, y: top + height, "text-anchor": "end"}, fmt(y0, 3)));
  group.append(s("text", {class: "axis-label", x: PAD.left + 4, y: top + 12}, label));
  return group;
}

/**
 * Draw into `container`. `data` = {channels: number[][], names, scores, regions}. Returns {setView, view}.
 */
export function createPlot(container, data) {
  const length = Math.max(data.scores.length, ...data.channels.map((c) => c.length));
  const full = [0, Math.max(length - 1, 1)];
  let view = [...full];
  let drawnWidth = 0;
  const clipId = uid("clip");
  const svg = s("svg", {class: "ts-svg", role: "img", focusable: "false"});
  const label = `Series of ${length} points with ${data.regions.length} flagged region(s); score underneath.`;
  const frame = h("div", {class: "ts-plot", tabindex: "0", role: "group", "aria-label":
    `${label} Keys: plus/minus zoom, arrows pan, 0 resets.`}, svg);
  const range = h("span", {class: "range", "aria-live": "polite"});
  const button = (text, title, action) => h("button", {type: "button", "aria-label": title, title,
    onclick: action}, text);
  const controls = h("div", {class: "plot-controls", role: "toolbar", "aria-label": "Plot zoom and pan"},
    button("+", "Zoom in", () => zoom(0.5)), button("−", "Zoom out", () => zoom(2)),
    button("←", "Pan left", () => pan(-0.25)), button("→", "Pan right", () => pan(0.25)),
    button("Reset", "Reset zoom", () => setView(full)), range);
  const legend = h("ul", {class: "legend"}, data.names.map((name, k) =>
    h("li", {}, h("span", {class: "swatch", "data-color": COLORS[k % COLORS.length]}), name)),
  h("li", {}, h("span", {class: "swatch region-swatch"}), "flagged region"));
  legend.querySelectorAll(".swatch[data-color]").forEach((el) => { el.style.background = el.dataset.color; });
  replace(container, controls, frame, legend);

  function draw() {
    const width = Math.max(frame.clientWidth || 800, 280);
    drawnWidth = frame.clientWidth;
    const top = 150;
    const bottom = 90;
    const height = PAD.top + top + 14 + bottom + PAD.bottom;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("aria-label", label);
    const inner = width - PAD.left - PAD.right;
    const clip = s("clipPath", {id: clipId}, s("rect", {x: PAD.left, y: 0, width: inner, height}));
    const xs = [];
    for (let k = 0; k <= 4; k += 1) {
      const i = view[0] + ((view[1] - view[0]) * k) / 4;
      xs.push(s("text", {class: "tick", x: PAD.left + (inner * k) / 4, y: height - 6,
        "text-anchor": k === 0 ? "start" : k === 4 ? "end" : "middle"}, String(Math.round(i))));
    }
    replace(svg, s("defs", {}, clip),
      panel({cls: "series-panel", arrays: data.channels, colors: COLORS, label: "series", top: PAD.top, height: top,
        width, view, regions: data.regions, clipId}),
      panel({cls: "score-panel", arrays: [data.scores], colors: ["#b3261e"], label: "score", top: PAD.top + top + 14,
        height: bottom, width, view, regions: data.regions, clipId}), xs);
    range.textContent = `showing points ${Math.round(view[0])}–${Math.round(view[1])} of ${length}`;
  }

  function setView([a, b]) {
    const span = Math.min(Math.max(b - a, 8), full[1] - full[0]);
    let start = Math.max(full[0], Math.min(a, full[1] - span));
    if (!Number.isFinite(start)) start = 0;
    view = [start, start + span];
    draw();
  }
  function zoom(factor, center = (view[0] + view[1]) / 2) {
    const span = (view[1] - view[0]) * factor;
    const t = (center - view[0]) / Math.max(view[1] - view[0], 1e-9);
    setView([center - span * t, center - span * t + span]);
  }
  function pan(share) {
    const shift = (view[1] - view[0]) * share;
    setView([view[0] + shift, view[1] + shift]);
  }
  const indexAt = (event) => {
    const box = svg.getBoundingClientRect();
    const inner = box.width - PAD.left - PAD.right;
    return view[0] + ((event.clientX - box.left - PAD.left) / inner) * (view[1] - view[0]);
  };
  frame.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoom(event.deltaY < 0 ? 0.8 : 1.25, indexAt(event));
  }, {passive: false});
  let drag = null;
  frame.addEventListener("pointerdown", (event) => {
    drag = {x: event.clientX, view: [...view]};
    frame.setPointerCapture(event.pointerId);
  });
  frame.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const inner = svg.getBoundingClientRect().width - PAD.left - PAD.right;
    const shift = ((drag.x - event.clientX) / inner) * (drag.view[1] - drag.view[0]);
    setView([drag.view[0] + shift, drag.view[1] + shift]);
  });
  frame.addEventListener("pointerup", () => { drag = null; });
  frame.addEventListener("dblclick", () => setView(full));
  frame.addEventListener("keydown", (event) => {
    const actions = {"+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2), ArrowLeft: () => pan(-0.1),
      ArrowRight: () => pan(0.1), 0: () => setView(full), Home: () => setView(full)};
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      const width = frame.clientWidth;
      if (width && width !== drawnWidth) requestAnimationFrame(draw);
    }).observe(frame);
  }
  draw();
  return {setView, get view() { return [...view]; }};
}
