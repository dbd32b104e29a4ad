// What changed between two checked policy texts: a line diff (jsdiff's diffLines, bundled by
// esbuild) shown as lines marked "+ " (added, in <ins>) and "- " (removed, in <del>), with
// unchanged lines between (a long unchanged run folded to the lines next to the changes).
import { diffLines } from "diff";

export const CONTEXT = 2; // unchanged lines kept on each side of a change

function lines(text) {
  const split = text.split("\n");
  if (split.at(-1) === "") split.pop();
  return split;
}

/** The changes from `before` to `after` (strings): { added, removed } line counts and the
 *  rows to show, each { kind: "added" | "removed" | "same" | "folded", text } ("folded"
 *  stands for `count` unchanged lines left out). No DOM: node runs it in the tests. */
export function diffRows(before, after) {
  const rows = [];
  let added = 0;
  let removed = 0;
  const parts = diffLines(before, after);
  parts.forEach((part, i) => {
    const text = lines(part.value);
    if (part.added || part.removed) {
      const kind = part.added ? "added" : "removed";
      for (const line of text) rows.push({ kind, text: line });
      if (part.added) added += text.length;
      else removed += text.length;
      return;
    }
    const head = i === 0 ? 0 : CONTEXT; // lines kept after the change before this run
    const tail = i === parts.length - 1 ? 0 : CONTEXT; // and before the change after it
    if (text.length <= head + tail + 1) {
      for (const line of text) rows.push({ kind: "same", text: line });
      return;
    }
    const count = text.length - head - tail;
    for (const line of text.slice(0, head)) rows.push({ kind: "same", text: line });
    rows.push({ kind: "folded", text: `… ${count} unchanged ${count === 1 ? "line" : "lines"} …`, count });
    for (const line of text.slice(text.length - tail)) rows.push({ kind: "same", text: line });
  });
  return { added, removed, rows };
}

const SHOWN = { added: ["ins", "+ "], removed: ["del", "- "] };

/** diffRows' answer and the DOM nodes to put in a <pre>: { added, removed, nodes }. */
export function policyDiff(before, after) {
  const { added, removed, rows } = diffRows(before, after);
  const nodes = rows.map(({ kind, text }) => {
    if (!SHOWN[kind]) return document.createTextNode(`  ${text}\n`);
    const [tag, prefix] = SHOWN[kind];
    const el = document.createElement(tag);
    el.textContent = `${prefix}${text}\n`;
    return el;
  });
  return { added, removed, nodes };
}
