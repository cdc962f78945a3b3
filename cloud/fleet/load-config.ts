// Loads the fleet service's config: the file (YAML or JSON), defaults, then one check against
// FleetConfigSchema; errors name the field. The PostgreSQL URL carries a password: put it in
// VW_FLEET_STORAGE_URL rather than the file (it overrides storage.url and selects postgres).
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { Value } from "@sinclair/typebox/value";
import { FleetConfigSchema, type FleetConfig } from "./config-schema.js";

export class FleetConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FleetConfigError";
  }
}

export function loadFleetConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): FleetConfig {
  let raw: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new FleetConfigError(`${path}: ${(error as Error).message}`);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (error) {
      throw new FleetConfigError(`${path}: not YAML or JSON: ${(error as Error).message}`);
    }
  }
  const value = Value.Default(FleetConfigSchema, structuredClone(raw)) as Record<string, unknown>;
  if (env.VW_FLEET_STORAGE_URL) value.storage = { type: "postgres", url: env.VW_FLEET_STORAGE_URL };
  if (!Value.Check(FleetConfigSchema, value)) {
    const error = [...Value.Errors(FleetConfigSchema, value)][0];
    const where = error?.path ? error.path.slice(1).replace(/\//g, ".") : "(top level)";
    throw new FleetConfigError(`${path ?? "config"}: ${where}: ${error?.message ?? "invalid"}`);
  }
  return value as FleetConfig;
}
