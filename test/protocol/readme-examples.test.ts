// protocol/README.md shows each payload as diagnostic notation and bytes: they must be what the
// encoder produces today (the docs cannot drift from the code).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { updatedReadme } from "../../scripts/protocol-examples.js";

describe("protocol/README.md examples", () => {
  it("match the current encoder output", () => {
    const current = readFileSync(new URL("../../protocol/README.md", import.meta.url), "utf8");
    expect(updatedReadme(current)).toBe(current);
  });
});
