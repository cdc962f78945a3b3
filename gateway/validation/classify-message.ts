// Turns one MQTT message into either a record for the buffer or a quarantine entry with the
// reason (the contract's error code and the field at fault). Never throws on bad input.
import type { RecordKind } from "../../protocol/batch.js";
import { ContractError, ContractErrorCode } from "../../protocol/errors.js";
import { parseDeviceTopic, type ParsedDeviceTopic } from "../../protocol/topics.js";
import { decodeDeviceMessage, type DeviceMessage } from "../../protocol/schema/validate.js";
import type { NewRecord, QuarantineEntry } from "../buffer/record-buffer.js";

export type Classified =
  | { ok: true; record: NewRecord; message: DeviceMessage; site: string }
  | { ok: false; entry: QuarantineEntry };

const recordKindOf = { tele: "tele", alert: "alert", status: "status", will: "status" } as const satisfies Record<string, RecordKind>;

// Parsed topics, by topic: a site has one topic per device and kind, and parsing (split, two
// pattern tests) cost as much as a fifth of validating a telemetry payload. Bounded (a flood of
// made-up topics only empties it); null records a topic that is not a device data topic.
const TOPIC_CACHE_MAX = 4096;
const topicCache = new Map<string, ParsedDeviceTopic | null>();

function parseTopic(topic: string): ParsedDeviceTopic | null {
  let parsed = topicCache.get(topic);
  if (parsed === undefined) {
    parsed = parseDeviceTopic(topic);
    if (topicCache.size >= TOPIC_CACHE_MAX) topicCache.clear();
    topicCache.set(topic, parsed);
  }
  return parsed;
}

export function classifyMessage(topic: string, payload: Uint8Array): Classified {
  const parsed = parseTopic(topic);
  if (!parsed || parsed.kind === "cfg") {
    return { ok: false, entry: { topic, device: "_unknown", code: ContractErrorCode.BadTopic, reason: `not a device data topic: ${topic.slice(0, 120)}`, payload } };
  }
  let message: DeviceMessage;
  try {
    message = decodeDeviceMessage(parsed.kind, payload, parsed.device);
  } catch (error) {
    const code = error instanceof ContractError ? error.code : ContractErrorCode.Schema;
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, entry: { topic, device: parsed.device, code, reason, payload } };
  }
  if (message.kind === "cfg") {
    return { ok: false, entry: { topic, device: parsed.device, code: ContractErrorCode.BadTopic, reason: "config on a data topic", payload } };
  }
  const p = message.payload;
  // QoS 1 redelivery (and a device resending from its ring) repeats (device, boot, seq); a Will
  // has no sequence and is remembered per boot
  const dedupe = { device: p.d, boot: p.b, seq: message.kind === "will" ? -1 : (p as { s: number }).s };
  return {
    ok: true,
    message,
    site: parsed.site,
    record: { kind: recordKindOf[message.kind], device: parsed.device, body: payload, dedupe },
  };
}
