// Loads the ingest config: the file (YAML or JSON), then VW_INGEST_* environment overrides, then
// defaults, then one check against IngestConfigSchema; errors name the field at fault.
//
// Environment names follow the schema's paths in UPPER_SNAKE case: listen.port ->
// VW_INGEST_LISTEN_PORT, storage.password -> VW_INGEST_STORAGE_PASSWORD, tls.requireClientCert ->
// VW_INGEST_TLS_REQUIRE_CLIENT_CERT; arrays (gateways) take JSON: VW_INGEST_GATEWAYS='[...]'.
// Secrets (InfluxDB password/token) belong in the environment, not in the file.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { Kind, type TSchema, type TObject } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { IngestConfigSchema, StorageSchema, type IngestConfig } from "./schema.js";

export const ENV_PREFIX = "VW_INGEST_";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const upperSnake = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

interface EnvLeaf {
  path: string[];
  schema: TSchema;
}

/** Every leaf of the schema with its environment variable name. */
export function environmentNames(): Map<string, EnvLeaf> {
  const names = new Map<string, EnvLeaf>();
  const walk = (schema: TSchema, path: string[]): void => {
    if (schema[Kind] === "Object") {
      for (const [key, child] of Object.entries((schema as TObject).properties)) walk(child, [...path, key]);
    } else if (schema[Kind] === "Union" && (schema.anyOf as TSchema[]).every((member) => member[Kind] === "Object")) {
      for (const member of schema.anyOf as TSchema[]) walk(member, path);
    } else {
      names.set(ENV_PREFIX + path.map(upperSnake).join("_"), { path, schema });
    }
  };
  walk(IngestConfigSchema, []);
  return names;
}

function convert(name: string, text: string, schema: TSchema): unknown {
  const kind = schema[Kind];
  if (kind === "Integer" || kind === "Number") {
    const value = Number(text);
    if (!Number.isFinite(value)) throw new ConfigError(`${name}: expected a number, got "${text}"`);
    return value;
  }
  if (kind === "Boolean") {
    if (text === "true" || text === "1") return true;
    if (text === "false" || text === "0") return false;
    throw new ConfigError(`${name}: expected true or false, got "${text}"`);
  }
  if (kind === "Array") {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ConfigError(`${name}: expected a JSON array`);
    }
  }
  return text;
}

/** Applies VW_INGEST_* variables onto a copy of the file's value. Unknown VW_INGEST_* names are errors. */
export function applyEnvironment(value: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const result = structuredClone(value);
  const names = environmentNames();
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined) continue;
    const leaf = names.get(name);
    if (!leaf) throw new ConfigError(`${name}: unknown setting (known: ${[...names.keys()].join(", ")})`);
    let target = result;
    for (const key of leaf.path.slice(0, -1)) {
      const next = target[key];
      if (typeof next !== "object" || next === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[leaf.path[leaf.path.length - 1] as string] = convert(name, text, leaf.schema);
  }
  return result;
}

/** how many schema errors a ConfigError lists (the rest are counted) */
const MAX_LISTED_ERRORS = 10;

function describeError(prefix: string, error: { path: string; message: string; value: unknown }): string {
  const got = error.value !== undefined && typeof error.value !== "object" ? ` (got ${JSON.stringify(error.value)})` : "";
  return `  ${prefix}${error.path || "/"}: ${error.message}${got}`;
}

/** Defaults, then the schema check; throws one ConfigError naming `source` and every bad field. */
export function parseConfig(value: unknown, source = "config"): IngestConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(`${source}: expected a map at the top level`);
  const withDefaults = Value.Default(IngestConfigSchema, structuredClone(value)) as Record<string, unknown>;
  const problems: string[] = [];
  // a union has no single set of defaults: apply those of the storage type chosen
  const storage = withDefaults.storage as Record<string, unknown> | undefined;
  if (storage && typeof storage === "object") {
    const member = (StorageSchema.anyOf as TObject[]).find((m) => (m.properties.type as { const?: unknown }).const === storage.type);
    if (!member) problems.push(`  /storage/type: must be one of influx-v1, influx-v2, embedded (got ${JSON.stringify(storage.type)})`);
    else {
      withDefaults.storage = Value.Default(member, storage);
      for (const error of Value.Errors(member, withDefaults.storage)) problems.push(describeError("/storage", error));
    }
  }
  // the storage was checked against its own type above: its union errors here would repeat them
  for (const error of Value.Errors(IngestConfigSchema, withDefaults)) if (!error.path.startsWith("/storage")) problems.push(describeError("", error));
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_ERRORS);
    if (problems.length > listed.length) listed.push(`  … and ${problems.length - listed.length} more`);
    throw new ConfigError(`${source}: invalid ingest config\n${listed.join("\n")}`);
  }
  return withDefaults as IngestConfig;
}

/** Reads a YAML or JSON file, applies the environment, validates. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): IngestConfig {
  let fileValue: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
    }
    try {
      fileValue = parseYaml(text) ?? {};
    } catch (error) {
      throw new ConfigError(`${path}: not valid YAML/JSON: ${(error as Error).message}`);
    }
  }
  if (typeof fileValue !== "object" || fileValue === null || Array.isArray(fileValue)) throw new ConfigError(`${path}: expected a map at the top level`);
  return parseConfig(applyEnvironment(fileValue as Record<string, unknown>, env), path ?? "the environment (VW_INGEST_*)");
}
