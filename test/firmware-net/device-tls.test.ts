// The device's socket stack with TLS in the loop (issue 20): the firmware's TLS socket over its
// guarded TCP socket, the handshake done by node:tls with the device's certificate, key and pinned
// CA from the fleet PKI, against the real Mosquitto running the shipped TLS config
// (manifests/mosquitto/mosquitto.conf). A certificate the device refuses (wrong CA, expired) must be
// a lost connection with its reason and a backoff, never an uncaught exception: on an ESP32 that
// is a reboot at every attempt, and the RAM ring lost each time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createTestFleetPki, SITE, type TestFleetPki } from "../security/helpers/test-fleet-pki.js";
import { startProductionBroker, type ProductionBroker } from "../security/helpers/production-broker.js";
import { issueCertificate } from "../../pki/issue.js";
import { DeviceRunner, type DeviceStats } from "../../simulator/device-runner.js";
import { deviceSpec, waitFor } from "./device-harness.js";

const DEVICE = "dev-a"; // the CN of the test PKI's device certificate

describe("the device over TLS to the production broker", () => {
  let pki: TestFleetPki;
  let broker: ProductionBroker;
  let expiredBroker: ProductionBroker;
  const devices: DeviceRunner[] = [];

  beforeAll(async () => {
    pki = await createTestFleetPki();
    broker = await startProductionBroker(pki);
    const expired = await issueCertificate(pki.layout.root, {
      kind: "server", name: "broker-expired", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"],
      notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2020-02-01T00:00:00Z"),
    });
    expiredBroker = await startProductionBroker({ ...pki, broker: expired });
  }, 60_000);
  afterAll(async () => {
    for (const device of devices) await device.stop();
    await broker?.dispose();
    await expiredBroker?.dispose();
    pki?.dispose();
  });

  const start = async (port: number, caFile: string): Promise<DeviceRunner> => {
    const device = await DeviceRunner.start({
      spec: deviceSpec(DEVICE, port, {
        siteId: SITE,
        tls: true,
        backoff: { initialMs: 300, maxMs: 1200 },
        socket: { tls: { ca: readFileSync(caFile, "utf8"), cert: readFileSync(pki.deviceA.files.chain, "utf8"), key: readFileSync(pki.deviceA.files.key, "utf8") } },
      }),
      speed: 2,
    });
    devices.push(device);
    return device;
  };

  const refusedThrice = (device: DeviceRunner) => waitFor("three refused attempts", async () => {
    const stats = await device.stats();
    return stats && stats.session.connectionLosses >= 3 ? stats : undefined;
  });

  const backsOffWithoutReboot = (device: DeviceRunner, stats: DeviceStats, firstBoot: number) => {
    expect(stats.connected).toBe(false);
    expect(stats.session.connects).toBe(0);
    expect(device.faults).toEqual([]);
    expect(device.bootId).toBe(firstBoot);
    expect(stats.bootId).toBe(firstBoot);
    // the ring keeps what was measured meanwhile
    expect(stats.ringDepth).toBeGreaterThan(0);
    expect(stats.dropped).toBe(0);
  };

  it("connects with the fleet CA pinned and its own certificate, and the broker acknowledges its messages", async () => {
    const device = await start(broker.broker.port, pki.layout.caCert);
    const stats = await waitFor("PUBACKs over TLS", async () => {
      const s = await device.stats();
      return s && s.connected && s.session.acknowledged >= 3 ? s : undefined;
    });
    expect(stats.session.connects).toBeGreaterThanOrEqual(1);
    expect(device.faults).toEqual([]);
    await device.stop();
  });

  it("refuses a broker whose certificate is not from its pinned CA: backoff with the SDK's reason, no reboot, the ring kept", async () => {
    const device = await start(broker.broker.port, pki.rogueLayout.caCert);
    const firstBoot = device.bootId;
    const stats = await refusedThrice(device);
    expect(stats.lastLossReason).toBe("socket: certificate: auth err");
    backsOffWithoutReboot(device, stats, firstBoot);
    await device.stop();
  });

  it("refuses a broker whose certificate has expired: backoff with the SDK's reason, no reboot, the ring kept", async () => {
    const device = await start(expiredBroker.broker.port, pki.layout.caCert);
    const firstBoot = device.bootId;
    const stats = await refusedThrice(device);
    expect(stats.lastLossReason).toBe("socket: date validation failed");
    backsOffWithoutReboot(device, stats, firstBoot);
    await device.stop();
  });
});
