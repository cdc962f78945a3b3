// CBOR diagnostic notation (RFC 8949 §8) of plain values, for the protocol's documentation.
export function diagnostic(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (Number.isInteger(value) && !Object.is(value, -0)) return String(value);
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    const text = String(value);
    return text.includes(".") || text.includes("e") ? text : `${text}.0`;
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `h'${Buffer.from(value).toString("hex")}'`;
  if (Array.isArray(value)) return `[${value.map(diagnostic).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${diagnostic(v)}`).join(", ")}}`;
  }
  throw new TypeError(`no diagnostic notation for ${typeof value}`);
}

/** Hex bytes in rows of 16 pairs, for the README. */
export function hexRows(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString("hex").match(/.{1,2}/g) ?? [];
  const rows: string[] = [];
  for (let i = 0; i < hex.length; i += 16) rows.push(hex.slice(i, i + 16).join(" "));
  return rows.join("\n");
}
