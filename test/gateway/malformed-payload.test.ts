// Guards against bad device input crashing the gateway or costing good data: 10,000 random and
// mutated payloads (not CBOR, truncated, deep nesting, huge arrays, wrong types, spoofed device
// ids, unknown versions, oversized) interleaved with valid traffic through the real broker. Every
// valid message must be forwarded; every bad one quarantined (acked, so it cannot block the
// session) and counted under the right reason and device.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import { ContractErrorCode } from "../../protocol/errors.js";

const BAD = 10_000;
const VALID_EVERY = 9;
const QUARANTINE_MAX = 2_000;

const env = useBrokerAndStandIn();

/** Seeded PRNG (mulberry32): the same 10,000 payloads on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BadPayload {
  device: string;
  payload: Uint8Array;
  code: string;
}

function badPayloads(count: number): BadPayload[] {
  const random = prng(20261128);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const valid = (device: string) => encode(telemetry(device, 5, int(1000)));
  const out: BadPayload[] = [];
  for (let i = 0; i < count; i++) {
    const device = `bad-${i % 20}`;
    const category = i % 9;
    let payload: Uint8Array;
    let code: string;
    switch (category) {
      case 0: // not CBOR: a reserved head byte, a stray "break", or junk after a complete item
        payload = [Uint8Array.of(0x1c + int(3), ...bytes(int(40))), Uint8Array.of(0xff, ...bytes(int(40))), Uint8Array.of(...valid(device), ...bytes(1 + int(10)))][int(3)]!;
        code = ContractErrorCode.NotCbor;
        break;
      case 1: { // truncated: a valid message cut short, or an array header claiming 2^40 items
        const whole = valid(device);
        payload = int(2) === 0 ? whole.subarray(0, int(whole.length)) : Uint8Array.of(0x9b, 0, 0, 1, 0, 0, 0, 0, 0, ...bytes(int(20)));
        code = ContractErrorCode.Truncated;
        break;
      }
      case 2: // deep nesting
        payload = Uint8Array.of(...new Array<number>(9 + int(300)).fill(0x81), 0x00);
        code = ContractErrorCode.TooDeep;
        break;
      case 3: { // huge arrays within the size limit: 100..300 band energies (the schema allows 8)
        const t = telemetry(device, 5, i) as unknown as Record<string, unknown>;
        t.e = new Array(100 + int(200)).fill(1);
        payload = encode(t);
        code = ContractErrorCode.Schema;
        break;
      }
      case 4: { // wrong types / mutated keys
        const t = telemetry(device, 5, i) as unknown as Record<string, unknown>;
        const keys = ["a", "u", "p", "c", "k", "z", "w", "r", "s", "b"];
        const key = keys[int(keys.length)]!;
        if (int(2) === 0) t[key] = ["x", -5, 1.5, { n: 1 }, null][int(5)];
        else {
          t[key.toUpperCase()] = t[key];
          delete t[key];
        }
        payload = encode(t);
        code = ContractErrorCode.Schema;
        break;
      }
      case 5: // spoofed device id: a valid message of another device
        payload = encode(telemetry("valid-dev", 5, i));
        code = ContractErrorCode.DeviceMismatch;
        break;
      case 6: // unknown payload version
        payload = encode({ ...telemetry(device, 5, i), v: 2 + int(250) });
        code = ContractErrorCode.UnknownVersion;
        break;
      case 7: // oversized
        payload = Uint8Array.of(0x5a, 0, 0, 0x4e, 0x20, ...bytes(1100 + int(20_000)));
        code = ContractErrorCode.Oversize;
        break;
      default: // random garbage behind a stray break byte
        payload = Uint8Array.of(0xff, ...bytes(int(64)));
        code = ContractErrorCode.NotCbor;
    }
    out.push({ device, payload, code });
  }
  return out;
}

it("quarantines and counts 10,000 bad payloads without a crash and forwards every valid message", { timeout: 180_000 }, async () => {
  env.gateway = await startGateway(testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { buffer: { quarantineMaxRecords: QUARANTINE_MAX } } }));
  env.client = await connectClient(env.broker.url, "dev-malformed");
  const bad = badPayloads(BAD);
  const expected = new Map<string, number>();
  for (const entry of bad) expected.set(entry.code, (expected.get(entry.code) ?? 0) + 1);
  let validSent = 0;
  const window: Array<Promise<unknown>> = [];
  for (let i = 0; i < bad.length; i++) {
    const entry = bad[i]!;
    window.push(env.client.publishAsync(deviceTopic("site-a", entry.device, "tele"), Buffer.from(entry.payload), { qos: 1 }));
    if (i % VALID_EVERY === 0) {
      window.push(env.client.publishAsync(deviceTopic("site-a", "valid-dev", "tele"), encode(telemetry("valid-dev", 77, validSent++)), { qos: 1 }));
    }
    if (window.length >= 200) await Promise.all(window.splice(0));
  }
  await Promise.all(window);

  expect(await until(async () => (await env.gateway!.metrics.value("vw_gateway_messages_rejected_total")) === BAD, 60_000)).toBe(true);
  expect(await until(() => storedSeqs(env.standIn.records(), "valid-dev").length === validSent, 30_000)).toBe(true);
  expect(storedSeqs(env.standIn.records(), "valid-dev").sort((a, b) => a - b)).toEqual(Array.from({ length: validSent }, (_, i) => i));
  expect(env.standIn.records().filter((record) => record.d !== "valid-dev" && record.k !== "event" && record.k !== "gw")).toEqual([]);
  for (const [code, count] of expected) {
    expect({ code, count: await env.gateway.metrics.value("vw_gateway_messages_rejected_total", { reason: code }) }).toEqual({ code, count });
  }
  // counted per device and reason (persisted), and the quarantine itself stays bounded
  const counts = env.gateway.buffer.quarantine.counts();
  expect(counts.reduce((sum, row) => sum + row.count, 0)).toBe(BAD);
  expect(counts.filter((row) => row.code === ContractErrorCode.DeviceMismatch).reduce((sum, row) => sum + row.count, 0)).toBe(expected.get(ContractErrorCode.DeviceMismatch));
  expect(new Set(counts.map((row) => row.device))).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `bad-${i}`)));
  expect(env.gateway.buffer.stats().quarantined).toBe(QUARANTINE_MAX);
  expect(await env.gateway.metrics.value("vw_gateway_dropped_total", { reason: "quarantine_full" })).toBe(BAD - QUARANTINE_MAX);
  expect(env.gateway.source.connected).toBe(true);
});
