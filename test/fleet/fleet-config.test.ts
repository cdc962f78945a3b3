// The fleet service's config: the sample config validates with the schema the service uses, and a
// wrong value is named by its path (the service refuses to start, exit 2).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFleetConfig } from "../../cloud/fleet/load-config.js";
import { repoRoot } from "../helpers/run-cli.js";

describe("fleet service config", () => {
  it("accepts the sample config, and defaults to the embedded SQLite store", () => {
    const config = loadFleetConfig(join(repoRoot, "cloud/fleet/sample-config.yaml"), {});
    expect(config.storage).toEqual({ type: "sqlite", path: "vibewatch-fleet.sqlite" });
    expect(config.operators[0]?.role).toBe("operate");
    expect(loadFleetConfig(undefined, {}).storage).toEqual({ type: "sqlite" });
  });

  it("takes the PostgreSQL URL from the environment, not the file", () => {
    const config = loadFleetConfig(undefined, { VW_FLEET_STORAGE_URL: "postgres://vw:secret@db/fleet" });
    expect(config.storage).toEqual({ type: "postgres", url: "postgres://vw:secret@db/fleet" });
  });

  it("names the field at fault", () => {
    const dir = mkdtempSync(join(tmpdir(), "vw-fleet-config-"));
    const path = join(dir, "fleet.yaml");
    writeFileSync(path, "gateways:\n  - id: gw-1\n    site: Plant_A\n    tokenHash: x\n");
    expect(() => loadFleetConfig(path, {})).toThrow(/gateways\.0\.(site|tokenHash)/);
  });
});
