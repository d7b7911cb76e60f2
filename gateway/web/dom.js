// Tiny DOM helpers: build elements without a framework (and without innerHTML, so API text stays text).

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else if (key === "class") node.setAttribute("class", value);
    else if (key in node && !(node instanceof SVGElement) && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element: h("button", {type: "button", onclick}, "Label"). */
export function h(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

/** An SVG element, same call shape as h(). */
export function s(tag, attrs, ...children) {
  return append(apply(document.createElementNS(SVG_NS, tag), attrs), children);
}

/** Replace a node's children. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

let counter = 0;
/** A unique element id with a readable prefix (labels need ids). */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A number for display: 4 significant digits, exponent for very small/large values. */
export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

/** A table inside a horizontally scrollable wrapper (narrow screens). */
export function table(caption, headers, rows, attrs = {}) {
  return h("div", {class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption},
    h("table", attrs,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", {scope: "col"}, name)))),
      h("tbody", {}, rows)));
}

/** A "yes/no" decision badge. */
export function badge(anomalous) {
  return h("span", {class: anomalous ? "badge bad" : "badge ok"}, anomalous ? "anomalous" : "normal");
}
