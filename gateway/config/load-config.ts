// Reads the gateway config file (YAML or JSON), applies VW_GATEWAY_* environment overrides and the
// schema's defaults, and validates it with the one schema. Errors name the field and the source.
//
// Env names: VW_GATEWAY_ + the field path in UPPER_SNAKE_CASE, e.g. sink.batchMaxRecords ->
// VW_GATEWAY_SINK_BATCH_MAX_RECORDS, gatewayId -> VW_GATEWAY_GATEWAY_ID. Arrays take a comma list.
// VW_GATEWAY_SINK_TOKEN carries the bearer token itself (never argv, never logged).
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { Kind, type TObject, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { GatewayConfigSchema, type GatewayConfig } from "./config-schema.js";
import { sourceConfigErrors } from "../sources/southbound/sources-config.js";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const ENV_PREFIX = "VW_GATEWAY_";
export const TOKEN_ENV = `${ENV_PREFIX}SINK_TOKEN`;

function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

interface Leaf {
  path: string[];
  schema: TSchema;
}

function leaves(schema: TObject, path: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const [key, child] of Object.entries(schema.properties)) {
    if (child[Kind] === "Object") out.push(...leaves(child as TObject, [...path, key]));
    else out.push({ path: [...path, key], schema: child });
  }
  return out;
}

/** The environment variable that overrides each field, for --help and the README. */
export function environmentNames(): Array<{ field: string; env: string }> {
  return leaves(GatewayConfigSchema).map((leaf) => ({ field: leaf.path.join("."), env: ENV_PREFIX + leaf.path.map(upperSnake).join("_") }));
}

function convert(raw: string, schema: TSchema, env: string): unknown {
  const kind = schema[Kind] as string;
  if (kind === "Integer" || kind === "Number") {
    const value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value)) throw new ConfigError(`${env}: expected a number, got "${raw}"`);
    return value;
  }
  if (kind === "Boolean") return raw === "true" || raw === "1";
  if (kind === "Array") return raw.split(",").map((part) => part.trim()).filter((part) => part !== "");
  return raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Validates a parsed config object (file content + overrides); `source` names it in errors. */
export function validateConfig(input: unknown, source: string, env: NodeJS.ProcessEnv = {}): GatewayConfig {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new ConfigError(`${source}: expected a map of settings at the top level`);
  const value = structuredClone(input) as Record<string, unknown>;
  for (const leaf of leaves(GatewayConfigSchema)) {
    const name = ENV_PREFIX + leaf.path.map(upperSnake).join("_");
    const raw = env[name];
    if (raw !== undefined && name !== TOKEN_ENV) setPath(value, leaf.path, convert(raw, leaf.schema, name));
  }
  const withDefaults = Value.Default(GatewayConfigSchema, value);
  const errors = [...Value.Errors(GatewayConfigSchema, withDefaults)];
  if (errors.length > 0) {
    // a source's errors are named inside the entry (its type's schema), not "expected union value"
    const sourceLines = sourceConfigErrors((withDefaults as { sources?: unknown }).sources);
    const lines = errors.filter((error) => sourceLines.length === 0 || !error.path.startsWith("/sources/")).slice(0, 5).map((error) => {
      const field = error.path.replace(/^\//, "").replaceAll("/", ".") || "(top level)";
      const unknown = error.message.includes("additional") || error.message.includes("Unexpected property");
      return `  ${field}: ${unknown ? "unknown field" : error.message}${error.value !== undefined && typeof error.value !== "object" ? ` (got ${JSON.stringify(error.value)})` : ""}`;
    });
    throw new ConfigError(`${source}: invalid gateway config\n${[...sourceLines, ...lines].slice(0, 5).join("\n")}`);
  }
  return withDefaults as GatewayConfig;
}

/** Loads and validates the config file at `path` with the process's environment overrides. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML/JSON: ${(error as Error).message}`);
  }
  return validateConfig(parsed ?? {}, path, env);
}

/** The bearer token: VW_GATEWAY_SINK_TOKEN wins over sink.tokenFile; trimmed; undefined when neither. */
export function readToken(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv) return fromEnv.trim();
  if (!config.sink.tokenFile) return undefined;
  try {
    return readFileSync(config.sink.tokenFile, "utf8").trim();
  } catch (error) {
    throw new ConfigError(`sink.tokenFile: cannot read ${config.sink.tokenFile}: ${(error as Error).message}`);
  }
}
