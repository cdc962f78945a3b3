// The configured southbound sources, built for the gateway: each gets its context (name, metrics,
// a child logger, the buffer append) and the defaults it takes from the gateway's config.
import type { Logger } from "pino";
import type { GatewayConfig } from "../../config/config-schema.js";
import type { GatewayMetrics } from "../../metrics.js";
import type { NewRecord, QuarantineEntry } from "../../buffer/record-buffer.js";
import { ModbusSource } from "../modbus/modbus-source.js";
import { OpcuaSource } from "../opcua/opcua-source.js";
import { JsonMqttSource } from "../json-mqtt/json-mqtt-source.js";
import type { SouthboundSource } from "./southbound-source.js";
import type { ModbusSourceConfig } from "../modbus/modbus-config.js";
import type { OpcuaSourceConfig } from "../opcua/opcua-config.js";
import type { JsonMqttSourceConfig } from "../json-mqtt/json-mqtt-config.js";

export interface SourceWiring {
  config: GatewayConfig;
  metrics: GatewayMetrics;
  log: Logger;
  /** one durable buffer transaction; throws when the commit failed */
  store(records: NewRecord[], quarantine?: QuarantineEntry[]): void;
}

export function createSources(wiring: SourceWiring): SouthboundSource[] {
  const names = new Set<string>();
  return wiring.config.sources.map((source) => {
    if (names.has(source.name)) throw new Error(`sources: the name "${source.name}" is used twice`);
    names.add(source.name);
    const context = { name: source.name, metrics: wiring.metrics, log: wiring.log.child({ source: source.name, type: source.type }), store: wiring.store };
    // the casts: load-config.ts filled in every default (the WithDefaults types say which)
    switch (source.type) {
      case "modbus":
        return new ModbusSource(source as ModbusSourceConfig, context);
      case "opcua":
        return new OpcuaSource(source as OpcuaSourceConfig, context);
      case "json-mqtt": {
        const { mqtt, gatewayId } = wiring.config;
        return new JsonMqttSource(source as JsonMqttSourceConfig, context, {
          url: mqtt.url,
          clientId: `vw-gw-${gatewayId}-${source.name}`,
          reconnectMs: mqtt.reconnectMs,
          reconnectMaxMs: mqtt.reconnectMaxMs,
          keepaliveS: mqtt.keepaliveS,
        });
      }
    }
  });
}
