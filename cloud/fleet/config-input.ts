// Desired-configuration input as operators write it (`hb=30 mc=2r bm=0.1,0.2`), parsed and checked
// against the one field table (protocol/config-fields.ts) before anything is stored or sent: the
// CLI refuses a bad value with the field named, and the service checks again (the API is public).
import { CONFIG_FIELDS, checkDeviceConfig, type ConfigField, type ConfigKey } from "../../protocol/config-fields.js";
import { PAYLOAD_VERSION } from "../../protocol/limits.js";
import type { ConfigFields } from "./storage/fleet-repository.js";

/** fields an operator may set: everything but the envelope and the tombstone, which the service manages */
export const SETTABLE_KEYS = (Object.keys(CONFIG_FIELDS) as ConfigKey[]).filter((key) => key !== "v" && key !== "cv" && key !== "reset");

export class ConfigInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "ConfigInputError";
  }
}

function parseValue(key: ConfigKey, text: string): unknown {
  const field: ConfigField = CONFIG_FIELDS[key];
  const number = (part: string) => (part.trim() === "" ? Number.NaN : Number(part));
  if (field.kind === "numbers") return text === "" ? [] : text.split(",").map(number);
  if (field.kind === "choice" && typeof field.values[0] === "string") return text;
  return number(text);
}

/** "key=value" words -> fields; throws ConfigInputError naming the word at fault */
export function parseAssignments(words: readonly string[]): ConfigFields {
  const fields: ConfigFields = {};
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq <= 0) throw new ConfigInputError(word, `"${word}": want key=value (keys: ${SETTABLE_KEYS.join(", ")})`);
    const key = word.slice(0, eq);
    if (!(SETTABLE_KEYS as string[]).includes(key)) throw new ConfigInputError(key, `${key}: unknown field (keys: ${SETTABLE_KEYS.join(", ")})`);
    fields[key] = parseValue(key as ConfigKey, word.slice(eq + 1)) as ConfigFields[string];
  }
  return fields;
}

/** Checks a scope's fields on their own, as the device would check a config made of them alone. */
export function checkFields(fields: ConfigFields): void {
  for (const key of Object.keys(fields)) {
    if (!(SETTABLE_KEYS as string[]).includes(key)) throw new ConfigInputError(key, `${key}: not settable (keys: ${SETTABLE_KEYS.join(", ")})`);
  }
  const check = checkDeviceConfig({ v: PAYLOAD_VERSION, cv: 1, ...fields }, CONFIG_FIELDS.w.max);
  if (!check.ok) throw new ConfigInputError(check.key, check.error);
}
