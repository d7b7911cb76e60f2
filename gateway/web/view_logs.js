// Logs: upload a raw log file, see its sessions sorted by score, flagged ones first-class, with the lines
// that drove each score highlighted.

import {upload} from "./api.js";
import {detectForm, option} from "./form.js";
import {badge, fmt, h, replace} from "./dom.js";

export const title = "Logs";

/** The session's lines in file order when they can be found (keyed sessions name their key in each line). */
function sessionLines(allLines, session) {
  const lines = allLines.filter((line) => line.includes(session.id));
  return lines.length === session.line_count ? lines : null;
}

function sessionView(session, allLines) {
  const driving = new Map(session.top_lines.map((line) => [line.index, line]));
  const lines = sessionLines(allLines, session);
  const body = lines
    ? h("ol", {class: "log-lines", start: "0"}, lines.map((text, index) => {
      const top = driving.get(index);
      return h("li", {class: top ? "driving" : "", value: String(index)},
        top ? h("mark", {}, text) : text, top ? h("span", {class: "line-score"}, ` score ${fmt(top.score)}`) : "");
    }))
    : h("ol", {class: "log-lines"}, session.top_lines.map((line) => h("li", {class: "driving", value: String(line.index)},
      h("mark", {}, line.text), h("span", {class: "line-score"}, ` score ${fmt(line.score)}`))));
  return h("details", {class: session.anomalous ? "session flagged" : "session", open: session.anomalous},
    h("summary", {}, badge(session.anomalous), " ", h("code", {}, session.id),
      ` — score ${fmt(session.score)}, p-value ${fmt(session.p_value)}, ${session.line_count} line(s)`),
    lines ? null : h("p", {class: "hint"}, "Highest-scoring lines (the session's other lines are not shown):"),
    body);
}

export function render(container) {
  const topLines = option("Lines shown per session", {name: "top_lines", type: "number", min: "1", max: "100",
    value: "3"}, "The highest-scoring lines of each session, highlighted.");
  const pattern = option("Session pattern (regex)", {name: "session_pattern", type: "text",
    placeholder: "the model's pattern", autocomplete: "off"}, "Empty: the pattern the model was trained with.");
  detectForm(container, {
    modality: "logs",
    files: [{name: "file", label: "Log file", accept: ".log,.txt,.out,text/plain",
      hint: "A raw log file, one event per line."}],
    extra: [topLines, pattern],
    async run(files, query, ui) {
      const file = files.file[0];
      const body = await upload("v1/logs/detect/file", query, [["file", file]]);
      const allLines = (await file.text()).split(/\r?\n/).filter((line) => line.trim());
      const sessions = [...body.results].sort((a, b) => (b.anomalous - a.anomalous) || (b.score - a.score));
      ui.status.textContent = `${body.anomalous_sessions} of ${body.results.length} session(s) flagged ` +
        `(${body.rule}, p-value threshold ${fmt(body.p_value_threshold)}).`;
      const onlyFlagged = h("input", {type: "checkbox", id: "only-flagged"});
      const list = h("div", {class: "sessions"});
      const draw = () => replace(list, sessions.filter((x) => !onlyFlagged.checked || x.anomalous)
        .map((x) => sessionView(x, allLines)));
      onlyFlagged.addEventListener("change", draw);
      ui.result.append(h("div", {class: "field inline"}, onlyFlagged, h("label", {for: "only-flagged"},
        "Show flagged sessions only")),
      body.truncated_lines ? h("p", {class: "hint"}, `${body.truncated_lines} over-long line(s) were truncated.`) : "",
      list);
      draw();
    },
  });
}
