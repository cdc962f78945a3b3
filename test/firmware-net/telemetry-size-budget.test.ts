// Telemetry must stay within TELEMETRY_TARGET_BYTES (128) on the wire. The live test measures what a
// simulated machine produces (24-character id: 119 bytes); this one guards the worst realistic case:
// a set clock, a sequence number deep into a long boot (> 65535: 5 bytes), an anomaly score, every
// band filled, and magnitudes of a machine in trouble (3-byte CBOR integers). The envelope and keys
// are fixed by the contract, so the device id decides: the worst case fits 128 bytes for ids of up to
// 14 characters ("pump-hall2-007") and is 11 bytes over for the longest ids the contract allows (24).
import { describe, expect, it } from "vitest";
import { MessageBuilder } from "../../firmware/app/message-builder.js";
import type { WindowResult } from "../../firmware/dsp/analyzer.js";
import { decodeDeviceMessage } from "../../protocol/schema/validate.js";
import { TELEMETRY_TARGET_BYTES } from "../../protocol/limits.js";

function window(overrides: Partial<WindowResult> = {}): WindowResult {
  return {
    index: 1, sampleRateHz: 3200, windowSamples: 2048,
    accelRmsMS2: Float32Array.of(150.2, 98.7, 120.4), velocityRmsMmS: Float32Array.of(45.3, 38.1, 29.9),
    bandHz: [10, 1000], peakMS2: 520.5, crest: 3.46, kurtosis: 9.81,
    bandRmsMS2: Float32Array.of(101.1, 88.2, 60.3, 45.4, 30.5), bandEdgesHz: [10, 50, 100, 200, 500, 1000],
    dominantAxis: 0, zone: 3, anomaly: 123.45, baselineState: 1, alerts: [], ...overrides,
  };
}

describe("telemetry size budget", () => {
  function worstCase(deviceId: string): Uint8Array {
    const builder = new MessageBuilder(deviceId, 0xfedcba98, () => 4_102_000_000_000);
    for (let i = 0; i < 70_000; i++) builder.alert({ kind: "vrms", level: 1, value: 1, limit: 1 }, 0); // s > 65535: 5-byte sequence
    const bytes = builder.telemetry(window()).slice();
    const message = decodeDeviceMessage("tele", bytes, deviceId);
    expect(message.payload).toMatchObject({ s: 70_000, n: 12345, z: 3, e: [10110, 8820, 6030, 4540, 3050] });
    return bytes;
  }

  it("stays within 128 bytes in the worst realistic case for a 14-character device id", () => {
    const bytes = worstCase("pump-hall2-007");
    expect(bytes.length).toBeLessThanOrEqual(TELEMETRY_TARGET_BYTES);
    // only the id grows the message: the longest id the contract allows adds exactly its extra text
    // bytes (a CBOR text head is 1 byte below 24 characters, 2 from 24 on)
    const longest = worstCase("compressor-hall2-line-07");
    const textBytes = (id: string) => id.length + (id.length < 24 ? 1 : 2);
    expect(longest.length - bytes.length).toBe(textBytes("compressor-hall2-line-07") - textBytes("pump-hall2-007"));
    console.log(JSON.stringify({ worstCaseBytes14CharId: bytes.length, worstCaseBytes24CharId: longest.length }));
  });

  it("clamps wild values into the contract instead of producing a message the gateway refuses", () => {
    const builder = new MessageBuilder("pump-07", 1, () => 0);
    const bytes = builder.telemetry(window({ accelRmsMS2: Float32Array.of(NaN, -1, 1e12), peakMS2: Infinity, anomaly: 1e9 })).slice();
    const message = decodeDeviceMessage("tele", bytes, "pump-07");
    expect(message.payload).toMatchObject({ a: [0, 0, 10_000_000], p: 10_000_000, n: 10_000_000, t: 0 });
  });

  it("gives the sequence number back when a message cannot be built, so no gap appears downstream", () => {
    const builder = new MessageBuilder("pump-07", 1, () => 0);
    builder.telemetry(window());
    expect(() => builder.telemetry(window({ zone: 1.5 as never }))).toThrow(RangeError);
    const next = decodeDeviceMessage("tele", builder.telemetry(window()).slice(), "pump-07");
    expect(next.payload).toMatchObject({ s: 1 });
  });
});
