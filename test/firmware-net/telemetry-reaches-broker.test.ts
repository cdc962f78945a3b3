// Simulated devices (the real firmware in XS) publish to a real Mosquitto. Guards against: payloads
// the gateway's decoder (cbor-x + the protocol schema) refuses, messages a stock client
// (mosquitto_sub, which nobody here wrote) does not receive, and telemetry over its 128-byte budget.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { decodeDeviceMessage } from "../../protocol/schema/validate.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { TELEMETRY_TARGET_BYTES } from "../../protocol/limits.js";
import type { Telemetry } from "../../protocol/messages.js";
import { deviceSpec, Recorder, waitFor } from "./device-harness.js";

// realistic ids: the longest the contract allows, and a typical one
const LONG_ID = "compressor-hall2-line-07"; // 24 characters
const SHORT_ID = "pump-07";

describe("telemetry from simulated devices reaches a real broker", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let sub: ChildProcess;
  let subOutput = "";
  const devices: DeviceRunner[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "recorder-reach");
    sub = spawn("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "vw/v1/plant-1/+/tele", "-q", "1", "-F", "%t %x"], { stdio: ["ignore", "pipe", "inherit"] });
    sub.stdout!.on("data", (chunk: Buffer) => (subOutput += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 300)); // mosquitto_sub subscribes
    devices.push(await DeviceRunner.start({ spec: deviceSpec(LONG_ID, broker.port, { machine: { ...deviceSpec("x", 0).machine, imbalanceMS2: 3, seed: 5 } }), speed: 2 }));
    devices.push(await DeviceRunner.start({ spec: deviceSpec(SHORT_ID, broker.port, { part: "lis3dh" }), speed: 2 }));
  });

  afterAll(async () => {
    for (const device of devices) await device.stop();
    sub?.kill("SIGTERM");
    await recorder?.stop();
    await broker?.dispose();
  });

  it("publishes telemetry, alerts and status that decode with cbor-x and pass the protocol schema", async () => {
    await waitFor("5 telemetry messages per device", () => devices.every((d) => recorder.of(d.spec.deviceId, "tele").length >= 5), 45_000);
    expect(recorder.invalid).toEqual([]);
    for (const device of devices) {
      const id = device.spec.deviceId;
      const tele = recorder.of(id, "tele") as Telemetry[];
      expect(tele.every((t) => t.d === id && t.b === device.bootId && t.t > 1_700_000_000_000)).toBe(true);
      expect(recorder.statuses(id)[0]).toMatchObject({ o: true, fw: "0.2.0", sp: device.spec.part, cv: 0 });
    }
    // the loud machine crosses ISO zone limits: zone alerts arrive
    expect(recorder.of(LONG_ID, "alert").some((a) => (a as { k: string }).k === "zone")).toBe(true);
    expect(devices.every((d) => d.error === undefined)).toBe(true);
  });

  it("keeps telemetry within 128 bytes with a 24-character device id", async () => {
    const sizes = recorder.received.filter((r) => r.message.kind === "tele").map((r) => r.bytes);
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(TELEMETRY_TARGET_BYTES);
    const longest = recorder.received.find((r) => r.device === LONG_ID && r.message.kind === "tele")!;
    const json = JSON.stringify(longest.message.payload);
    const telemetry = longest.message.payload as Telemetry;
    const rawSampleBytes = telemetry.w * 3 * 2;
    // the figures the issue asks for, printed for the report
    console.log(JSON.stringify({ deviceIdChars: LONG_ID.length, cborBytes: longest.bytes, jsonBytes: Buffer.byteLength(json), rawSampleBytes, reEncodedByCborX: cborEncoder.encode(telemetry).length }));
    expect(longest.bytes).toBeLessThan(Buffer.byteLength(json));
  });

  it("is received by mosquitto_sub, byte for byte decodable", async () => {
    await waitFor("mosquitto_sub output for both devices", () => devices.every((d) => subOutput.includes(`/${d.spec.deviceId}/tele `)), 20_000);
    const lines = subOutput.trim().split("\n").filter((line) => line.includes(" "));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      const [topic, hex] = line.split(" ") as [string, string];
      const device = topic.split("/")[3]!;
      const message = decodeDeviceMessage("tele", Uint8Array.from(Buffer.from(hex, "hex")), device);
      expect(message.kind).toBe("tele");
    }
  });
});
