// One JSON-over-MQTT message -> reading values, by the source's mappings: the first mapping whose
// topic filter matches, its fields from JSON paths (typed, scaled), tags fixed and from topic
// levels, the time from a JSON path or the arrival. A message that does not fit is refused with a
// code and a reason naming what was wrong, for the quarantine. Pure: the live source and
// `vibewatch quarantine replay` run the same code.
import type { JsonMappingConfig, JsonMqttSourceConfig } from "./json-mqtt-config.js";
import { compilePath, evaluatePath, type JsonPathStep } from "./json-path.js";
import type { ReadingValues } from "../southbound/reading-stream.js";
import { MAX_TAG_VALUE_LENGTH } from "../../../protocol/readings.js";

/** Why a message was quarantined. */
export const JsonRefusalCode = {
  NotJson: "VW_NOT_JSON",
  Oversize: "VW_OVERSIZE",
  /** a required path is missing, a value has the wrong type, a time cannot be read */
  Mapping: "VW_MAPPING",
  /** no mapping's topic filter matches (overlapping subscriptions, or a replay after a mapping was removed) */
  NoMapping: "VW_NO_MAPPING",
} as const;
export type JsonRefusalCode = (typeof JsonRefusalCode)[keyof typeof JsonRefusalCode];
export const JSON_REFUSAL_CODES: readonly string[] = Object.values(JsonRefusalCode);

/** Nesting bound of a payload (JSON.parse has none of its own). */
const MAX_DEPTH = 16;
/** Reading times accepted: 2001..2100, µs. */
const MIN_TIME_US = 1e15;
const MAX_TIME_US = 4.1e15;

export class JsonRefusal extends Error {
  constructor(readonly code: JsonRefusalCode, message: string) {
    super(message);
    this.name = "JsonRefusal";
  }
}

interface CompiledMapping {
  config: JsonMappingConfig;
  filter: string[];
  fields: Array<{ config: JsonMappingConfig["fields"][number]; steps: JsonPathStep[] }>;
  time?: { path: string; steps: JsonPathStep[]; unit: NonNullable<JsonMappingConfig["time"]>["unit"] };
}

export interface MappedReading {
  timeUs: number;
  values: ReadingValues;
}

/** Does an MQTT topic match a filter (+ one level, # the rest)? */
export function topicMatches(filter: readonly string[], topic: readonly string[]): boolean {
  for (let index = 0; index < filter.length; index += 1) {
    const part = filter[index];
    if (part === "#") return true;
    if (index >= topic.length) return false;
    if (part !== "+" && part !== topic[index]) return false;
  }
  return filter.length === topic.length;
}

export class JsonMapper {
  readonly #mappings: CompiledMapping[];

  constructor(readonly config: JsonMqttSourceConfig) {
    this.#mappings = config.mappings.map((mapping) => {
      if (mapping.topic.startsWith("vw/")) throw new Error(`source ${config.name}: topic ${mapping.topic}: vw/ topics are the devices' own (the device intake reads them)`);
      const compiled: CompiledMapping = {
        config: mapping,
        filter: mapping.topic.split("/"),
        fields: mapping.fields.map((field) => ({ config: field, steps: compilePath(field.path) })),
      };
      if (mapping.time) compiled.time = { path: mapping.time.path, steps: compilePath(mapping.time.path), unit: mapping.time.unit };
      return compiled;
    });
  }

  /** The filters to subscribe to. */
  get filters(): string[] {
    return [...new Set(this.config.mappings.map((mapping) => mapping.topic))];
  }

  /** Maps one message; throws JsonRefusal. `arrivalUs`: when the gateway received it. */
  map(topic: string, payload: Uint8Array, arrivalUs: number): MappedReading {
    const levels = topic.split("/");
    const mapping = this.#mappings.find((candidate) => topicMatches(candidate.filter, levels));
    if (!mapping) throw new JsonRefusal(JsonRefusalCode.NoMapping, `no mapping of source ${this.config.name} matches topic ${topic}`);
    if (payload.length > this.config.maxMessageBytes) throw new JsonRefusal(JsonRefusalCode.Oversize, `message is ${payload.length} bytes, limit ${this.config.maxMessageBytes} (maxMessageBytes)`);
    const document = parseJson(payload);
    const values: ReadingValues = { measurement: mapping.config.measurement, floats: {}, ints: {}, bools: {} };
    const tags: Record<string, string> = { ...(mapping.config.tags ?? {}) };
    for (const [tag, level] of Object.entries(mapping.config.topicTags ?? {})) {
      const value = levels[level];
      if (value === undefined || value === "" || value.length > MAX_TAG_VALUE_LENGTH || [...value].some((c) => c === "\\" || c.charCodeAt(0) < 0x20)) {
        throw new JsonRefusal(JsonRefusalCode.Mapping, `tag ${tag}: topic level ${level} of ${topic} is ${value === undefined ? "missing" : "not a usable tag value"}`);
      }
      tags[tag] = value;
    }
    if (Object.keys(tags).length > 0) values.tags = tags;
    for (const { config: field, steps } of mapping.fields) {
      const raw = evaluatePath(document, steps);
      if (raw === undefined || raw === null) {
        if (field.required) throw new JsonRefusal(JsonRefusalCode.Mapping, `${field.path} (field ${field.field}): missing`);
        continue;
      }
      if (field.type === "bool") {
        if (typeof raw !== "boolean") throw new JsonRefusal(JsonRefusalCode.Mapping, `${field.path} (field ${field.field}): want a boolean, got ${preview(raw)}`);
        (values.bools as Record<string, boolean>)[field.field] = raw;
        continue;
      }
      if (typeof raw !== "number" || !Number.isFinite(raw)) throw new JsonRefusal(JsonRefusalCode.Mapping, `${field.path} (field ${field.field}): want a number, got ${preview(raw)}`);
      const value = raw * field.scale + field.offset;
      if (field.type === "int") {
        if (!Number.isSafeInteger(Math.round(value))) throw new JsonRefusal(JsonRefusalCode.Mapping, `${field.path} (field ${field.field}): ${value} is out of the integer range`);
        (values.ints as Record<string, number>)[field.field] = Math.round(value);
      } else {
        (values.floats as Record<string, number>)[field.field] = value;
      }
    }
    return { timeUs: mapping.time ? readTime(document, mapping.time) : arrivalUs, values };
  }
}

function parseJson(payload: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
  } catch {
    throw new JsonRefusal(JsonRefusalCode.NotJson, "not JSON: the payload is not UTF-8");
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new JsonRefusal(JsonRefusalCode.NotJson, `not JSON: ${(error as Error).message}`);
  }
  if (depthOf(document) > MAX_DEPTH) throw new JsonRefusal(JsonRefusalCode.NotJson, `JSON nested deeper than ${MAX_DEPTH}`);
  return document;
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return depth;
  let deepest = depth + 1;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, depth + 1));
  return deepest;
}

function readTime(document: unknown, time: NonNullable<CompiledMapping["time"]>): number {
  const raw = evaluatePath(document, time.steps);
  let timeUs: number;
  if (time.unit === "iso") {
    const ms = typeof raw === "string" ? Date.parse(raw) : NaN;
    timeUs = ms * 1000;
  } else {
    const factor = time.unit === "s" ? 1e6 : time.unit === "ms" ? 1e3 : 1;
    timeUs = typeof raw === "number" ? raw * factor : NaN;
  }
  if (!Number.isFinite(timeUs) || timeUs < MIN_TIME_US || timeUs > MAX_TIME_US) {
    throw new JsonRefusal(JsonRefusalCode.Mapping, `${time.path} (time): ${preview(raw)} is not a ${time.unit === "iso" ? "ISO 8601 time" : `time in ${time.unit} since the epoch`} between 2001 and 2100`);
  }
  return Math.round(timeUs);
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
