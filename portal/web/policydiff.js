// What changed between two checked policy texts: a line diff (jsdiff's diffLines, bundled by
// esbuild) shown as lines marked "+ " (added, in <ins>) and "- " (removed, in <del>), with
// unchanged lines between (long unchanged runs folded to their first and last lines).
import { diffLines } from "diff";

const CONTEXT = 2; // unchanged lines kept on each side of a change

function lines(text) {
  const split = text.split("\n");
  if (split.at(-1) === "") split.pop();
  return split;
}

function marked(tag, prefix, text) {
  const el = document.createElement(tag);
  el.textContent = `${prefix}${text}\n`;
  return el;
}

/** The changes from `before` to `after` as { added, removed } line counts and the nodes
 *  to put in a <pre>. */
export function policyDiff(before, after) {
  const nodes = [];
  let added = 0;
  let removed = 0;
  const parts = diffLines(before, after);
  parts.forEach((part, i) => {
    const text = lines(part.value);
    if (part.added || part.removed) {
      for (const line of text) nodes.push(part.added ? marked("ins", "+ ", line) : marked("del", "- ", line));
      if (part.added) added += text.length;
      else removed += text.length;
      return;
    }
    const head = i === 0 ? 0 : CONTEXT;
    const tail = i === parts.length - 1 ? 0 : CONTEXT;
    if (text.length > head + tail + 1) {
      const folded = text.length - head - tail;
      text.splice(head, folded, `… ${folded} unchanged ${folded === 1 ? "line" : "lines"} …`);
    }
    for (const line of text) nodes.push(document.createTextNode(`  ${line}\n`));
  });
  return { added, removed, nodes };
}
