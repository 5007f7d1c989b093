import { type Document, isMap, isNode, isScalar, isSeq, type LineCounter } from "yaml";

/** A position in the YAML text: 1-based line, or null when the text has no place for it. */
export type YamlLine = number | null;

/**
 * The 1-based line of the thing at `path` in a parsed document. A path that ends in a key points
 * at the key (`access_as:`), not at its value, because that is the line a reader looks for. A
 * path that does not exist (a missing required key) points at its nearest existing ancestor.
 */
export function lineOfPath(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): YamlLine {
  for (let depth = path.length; depth >= 0; depth--) {
    const offset = offsetOf(doc, path.slice(0, depth));
    if (offset !== null) return lineCounter.linePos(offset).line;
  }
  return null;
}

function offsetOf(doc: Document.Parsed, path: readonly PropertyKey[]): number | null {
  if (path.length === 0) return rangeStart(doc.contents);
  const parent = nodeAt(doc, path.slice(0, -1));
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
    return pair && isScalar(pair.key) ? rangeStart(pair.key) : null;
  }
  if (isSeq(parent) && typeof last === "number") return rangeStart(parent.items[last]);
  return null;
}

function nodeAt(doc: Document.Parsed, path: readonly PropertyKey[]): unknown {
  if (path.length === 0) return doc.contents;
  return doc.getIn(
    path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment)),
    true,
  );
}

function rangeStart(node: unknown): number | null {
  return isNode(node) && node.range ? node.range[0] : null;
}

/** `ci_access.projects[0].access_as`: the form users see in messages. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) => {
      if (typeof segment === "number") return `[${segment}]`;
      const name = String(segment);
      return index === 0 ? name : `.${name}`;
    })
    .join("");
}
