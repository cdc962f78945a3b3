// The gateway config's `sources` section: one entry per southbound source, told apart by `type`
// (modbus, opcua, json-mqtt; each folder under gateway/sources/ has its README and sample).
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ModbusSourceSchema } from "../modbus/modbus-config.js";
import { OpcuaSourceSchema } from "../opcua/opcua-config.js";
import { JsonMqttSourceSchema } from "../json-mqtt/json-mqtt-config.js";

export const SourceConfigSchema = Type.Union([ModbusSourceSchema, OpcuaSourceSchema, JsonMqttSourceSchema]);
export const SourcesConfigSchema = Type.Array(SourceConfigSchema, { default: [], maxItems: 256, description: "southbound sources: Modbus TCP/RTU, OPC UA, JSON over MQTT" });

export type SourceConfig = Static<typeof SourceConfigSchema>;

const schemaOfType = { modbus: ModbusSourceSchema, opcua: OpcuaSourceSchema, "json-mqtt": JsonMqttSourceSchema } as const;

/**
 * Readable errors for `sources`: a union only says "expected union value", so each entry is checked
 * against the schema its `type` names, and the errors name the field inside it
 * (`sources.0.registers.1.type: ...`).
 */
export function sourceConfigErrors(sources: unknown): string[] {
  if (!Array.isArray(sources)) return [];
  const lines: string[] = [];
  for (const [index, entry] of sources.entries()) {
    const type = (entry as { type?: unknown } | null)?.type;
    const schema = typeof type === "string" ? schemaOfType[type as keyof typeof schemaOfType] : undefined;
    if (!schema) {
      lines.push(`  sources.${index}.type: want one of ${Object.keys(schemaOfType).join(", ")}${type === undefined ? "" : ` (got ${JSON.stringify(type)})`}`);
      continue;
    }
    const withDefaults = Value.Default(schema, structuredClone(entry));
    for (const error of Value.Errors(schema, withDefaults)) {
      const field = `sources.${index}${error.path.replaceAll("/", ".")}`;
      const unknown = error.message.includes("additional") || error.message.includes("Unexpected property");
      lines.push(`  ${field}: ${unknown ? "unknown field" : error.message}${error.value !== undefined && typeof error.value !== "object" ? ` (got ${JSON.stringify(error.value)})` : ""}`);
      if (lines.length >= 5) return lines;
    }
  }
  return lines;
}
