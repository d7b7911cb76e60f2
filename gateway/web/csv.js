// Client-side reading of the uploaded files, only to draw them (the service does the real parsing and
// validation; its message is what the page shows when a file is bad).

const TIME = new Set(["timestamp", "time", "date"]);
const LABEL = new Set(["label", "is_anomaly"]);

function delimiter(text) {
  const first = text.split(/\r?\n/).find((line) => line.trim()) || "";
  const counts = [",", ";", "\t"].map((sep) => [sep, first.split(sep).length - 1]);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] ? counts[0][0] : ",";
}

const isNumber = (cell) => cell.trim() !== "" && Number.isFinite(Number(cell));

/** A series CSV → {names, channels: Float64Array[]} (time/label columns dropped, as the service does). */
export function parseSeriesCsv(text) {
  const sep = delimiter(text);
  const rows = text.replace(/^\ufeff/, "").split(/\r?\n/).filter((line) => line.trim()).map((line) => line.split(sep));
  if (!rows.length) return {names: [], channels: []};
  let header = null;
  if (!rows[0].some(isNumber)) header = rows.shift().map((cell) => cell.trim().replace(/^"|"$/g, "").toLowerCase());
  const width = rows.length ? rows[0].length : 0;
  const keep = [];
  for (let c = 0; c < width; c += 1) {
    const name = header ? header[c] : "";
    if (header && ((c === 0 && TIME.has(name)) || LABEL.has(name))) continue;
    keep.push(c);
  }
  const channels = keep.map(() => new Float64Array(rows.length));
  rows.forEach((row, t) => keep.forEach((c, k) => { channels[k][t] = Number(row[c]); }));
  return {names: keep.map((c) => (header ? header[c] : `channel ${c}`)), channels};
}

/** An edge list ("source target [time]" per line; comma, tab or space separated) → [[s, t], ...]. */
export function parseEdges(text) {
  const edges = [];
  for (const line of text.split(/\r?\n/)) {
    const cells = line.trim().split(/[\s,;]+/);
    if (cells.length < 2 || line.trim().startsWith("#") || !isNumber(cells[0]) || !isNumber(cells[1])) continue;
    edges.push([Number(cells[0]), Number(cells[1])]);
  }
  return edges;
}
