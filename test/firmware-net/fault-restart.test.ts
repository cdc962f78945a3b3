// An uncaught exception in the firmware restarts the simulated device as it restarts an ESP32
// (fxAbort -> esp_restart): new boot id, RAM ring lost, flash kept. The loss audit over what reached
// the broker then shows exactly the ring's contents missing from the old boot, and nothing else
// (issue 20). The device's network is cut first (a fault-injecting proxy) so the ring holds a backlog.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingTcpProxy } from "../e2e/helpers/fault-injecting-tcp-proxy.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { auditSequences, bootKey } from "../../cloud/audit/sequence-audit.js";
import type { Envelope } from "../../protocol/messages.js";
import { deviceSpec, Recorder, waitFor } from "./device-harness.js";

const DEVICE = "fault-restart";

describe("a firmware fault on the device", () => {
  let broker: MosquittoHandle;
  let proxy: FaultInjectingTcpProxy;
  let recorder: Recorder;
  let device: DeviceRunner;

  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await FaultInjectingTcpProxy.start("127.0.0.1", broker.port);
    recorder = await Recorder.start(broker.url, "fault-restart-recorder");
    device = await DeviceRunner.start({ spec: deviceSpec(DEVICE, proxy.port, { backoff: { initialMs: 300, maxMs: 1000 } }), speed: 4 });
  });
  afterAll(async () => {
    await device?.stop();
    await recorder?.stop();
    await proxy?.close();
    await broker?.dispose();
  });

  it("restarts it with a new boot id, as an ESP32 restarts; exactly what its RAM ring held is lost", async () => {
    await waitFor("telemetry flowing", () => recorder.of(DEVICE, "tele").length >= 3);
    const firstBoot = device.bootId;
    proxy.cut();
    const backlog = await waitFor("a backlog in the ring", async () => {
      const stats = await device.stats();
      return stats && !stats.connected && stats.ringDepth >= 12 ? stats : undefined;
    });
    expect(backlog.dropped).toBe(0);
    const snapshot = await device.injectFault("injected: uncaught exception in a timer callback");
    expect(snapshot.bootId).toBe(firstBoot);
    expect(snapshot.ringSequences.length).toBeGreaterThanOrEqual(12);

    await waitFor("the restart", () => device.bootId !== firstBoot && device.faults.length === 1);
    expect(device.error).toBeUndefined();
    expect(device.faults[0]).toMatchObject({ bootId: firstBoot });
    expect(device.faults[0]!.message).toContain("injected: uncaught exception in a timer callback");
    const secondBoot = device.bootId;
    proxy.restore();
    await waitFor("the new boot's telemetry", () => recorder.received.some((r) => r.device === DEVICE && r.message.kind === "tele" && (r.message.payload as Envelope).b === secondBoot && (r.message.payload as Envelope).s >= 5), 60_000);

    const rows = recorder.received
      .filter((r) => r.device === DEVICE && r.message.kind !== "will")
      .map((r, index) => ({ device: DEVICE, boot: (r.message.payload as Envelope).b, seq: (r.message.payload as Envelope).s, timeUs: index }));
    const report = auditSequences(rows, [], new Map([[bootKey(DEVICE, firstBoot), snapshot.nextSequence - 1]]));
    const old = report.boots.find((b) => b.boot === firstBoot)!;
    const fresh = report.boots.find((b) => b.boot === secondBoot)!;
    // messages in flight when the network went may have reached the broker before their PUBACK
    // was lost: they were in the ring and still arrived. Everything else the ring held is missing.
    const arrived = new Set(rows.filter((r) => r.boot === firstBoot).map((r) => r.seq));
    const lost = snapshot.ringSequences.filter((seq) => !arrived.has(seq));
    expect(lost.length).toBeGreaterThanOrEqual(snapshot.ringSequences.length - 8); // maxInflight
    const missing = old.gaps.flatMap((gap) => Array.from({ length: gap.to - gap.from + 1 }, (_, i) => gap.from + i));
    expect(missing).toEqual(lost);
    expect(old.duplicated).toBe(0);
    expect(fresh.firstSeq).toBe(0);
    expect(fresh.missing).toBe(0);
  });
});
