// Issue 14, finding 4: the shipped mosquitto.conf (max_inflight_messages 200, max_queued_messages
// 100000) disagreed with the gateway README (1,000 and 1,000,000). Guards that the broker settings
// the gateway README shows are the ones shipped in manifests/mosquitto/mosquitto.conf and in the
// compose stack's development broker, and that the README's Receive Maximum is the config default.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { readText, repoRoot } from "./helpers/manifests.js";
import { MqttConfigSchema } from "../../gateway/config/config-schema.js";

/** Mosquitto's `key value` lines (comments and blanks skipped); a repeated key keeps every value. */
function directives(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const [key, ...rest] = line.split(/\s+/);
    result.set(key as string, [...(result.get(key as string) ?? []), rest.join(" ")]);
  }
  return result;
}

const readme = readText(join(repoRoot, "gateway/README.md"));
/** The code block of the README's broker section. */
function readmeBrokerBlock(): Map<string, string[]> {
  const section = readme.slice(readme.indexOf("## The broker: settings the gateway needs"));
  const block = /\n```\n([\s\S]*?)\n```/.exec(section);
  expect(block, "a ``` block in the README's broker section").not.toBeNull();
  return directives((block as RegExpExecArray)[1] as string);
}

const shipped = {
  "manifests/mosquitto/mosquitto.conf": directives(readText(join(repoRoot, "manifests/mosquitto/mosquitto.conf"))),
  "manifests/compose/config/mosquitto-dev.conf": directives(readText(join(repoRoot, "manifests/compose/config/mosquitto-dev.conf"))),
};
/** Mosquitto 2's defaults, for a setting the README names and a file leaves out */
const MOSQUITTO_DEFAULTS: Record<string, string> = { max_inflight_messages: "20", max_queued_messages: "1000", max_queued_bytes: "0", persistence: "false", autosave_interval: "1800" };

describe("broker settings: gateway README vs the shipped Mosquitto config", () => {
  it("the README's block names the bounds the gateway depends on", () => {
    const block = readmeBrokerBlock();
    for (const key of ["max_inflight_messages", "max_queued_messages", "persistence"]) expect(block.has(key), key).toBe(true);
  });

  for (const [file, config] of Object.entries(shipped)) {
    it(`${file} has every value the README shows`, () => {
      for (const [key, values] of readmeBrokerBlock()) expect(config.get(key) ?? [MOSQUITTO_DEFAULTS[key]], `${key} in ${file}`).toEqual(values);
    });
  }

  it("the production and the development broker agree on the queue bounds", () => {
    for (const key of ["max_inflight_messages", "max_queued_messages", "max_queued_bytes", "message_size_limit", "persistent_client_expiration"]) {
      expect(shipped["manifests/compose/config/mosquitto-dev.conf"].get(key), key).toEqual(shipped["manifests/mosquitto/mosquitto.conf"].get(key));
    }
  });

  it("the README's Receive Maximum is the gateway's default", () => {
    const receiveMaximum = (MqttConfigSchema.properties.receiveMaximum as { default: number }).default;
    expect(readme).toContain(`\`mqtt.receiveMaximum\` (default ${receiveMaximum.toLocaleString("en-US")}`);
    expect(readme).toContain(`receiveMaximum: ${receiveMaximum} `);
  });
});
