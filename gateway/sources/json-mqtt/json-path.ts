// The small JSON path subset the mappings use: $ (the whole document), .name and [index] steps.
// Compiled once per configured path; evaluation never throws (undefined when a step is missing).

export type JsonPathStep = { key: string } | { index: number };

/** Parses "$.a.b[0].c"; the config schema already checked the syntax. */
export function compilePath(path: string): JsonPathStep[] {
  if (!path.startsWith("$")) throw new Error(`JSON path "${path}" must start with $`);
  const steps: JsonPathStep[] = [];
  const pattern = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]/y;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < path.length) {
    const at = pattern.lastIndex;
    const match = pattern.exec(path);
    if (!match) throw new Error(`JSON path "${path}": cannot read from character ${at + 1}`);
    steps.push(match[1] !== undefined ? { key: match[1] } : { index: Number(match[2]) });
  }
  return steps;
}

/** The value at the path, or undefined. Own properties only (no prototype lookups). */
export function evaluatePath(document: unknown, steps: readonly JsonPathStep[]): unknown {
  let node: unknown = document;
  for (const step of steps) {
    if ("key" in step) {
      if (typeof node !== "object" || node === null || Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, step.key)) return undefined;
      node = (node as Record<string, unknown>)[step.key];
    } else {
      if (!Array.isArray(node) || step.index >= node.length) return undefined;
      node = node[step.index];
    }
  }
  return node;
}
