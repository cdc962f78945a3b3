// A broker that accepts TCP connections but never answers CONNACK (a hung broker, a middlebox
// swallowing traffic). A real Mosquitto cannot be made to do this on demand, so the peer here is a
// fault-injecting stand-in: a TCP listener that reads and never writes. Guards against a device
// that waits forever on a connection attempt, leaks the sockets it gave up on, or stops sampling.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/services.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { deviceSpec, waitFor } from "./device-harness.js";

describe("broker that never answers CONNACK (fault-injecting stand-in)", () => {
  let server: Server;
  let port: number;
  const open = new Set<Socket>();
  let accepted = 0;
  let device: DeviceRunner;

  beforeAll(async () => {
    port = await freePort();
    server = createServer((socket) => {
      accepted++;
      open.add(socket);
      socket.on("data", () => undefined); // swallow CONNECT
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    device = await DeviceRunner.start({
      spec: deviceSpec("silent-peer", port, { connectTimeoutMs: 2000, backoff: { initialMs: 500, maxMs: 2000 }, ring: { capacityMessages: 8, capacityBytes: 4096 } }),
      speed: 4,
    });
  });

  afterAll(async () => {
    await device?.stop();
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("gives up each attempt after its connect timeout, closes that socket, retries with backoff, and keeps sampling", async () => {
    const stats = await waitFor("four failed attempts", async () => {
      const s = await device.stats();
      return s && s.session.connectionLosses >= 4 ? s : undefined;
    }, 60_000);
    expect(stats.connected).toBe(false);
    expect(stats.session.connects).toBe(0);
    // every attempt reached TCP and got no CONNACK: the sockets opened, the session never connected
    expect(device.bridge!.counters.connects).toBeGreaterThanOrEqual(4);
    expect(accepted).toBeGreaterThanOrEqual(4);
    // the abandoned connections are closed: at most the current attempt is open
    // (MQTT.js would close them itself only after its own 5 s connect timeout: wait far less)
    await waitFor("abandoned sockets closed", () => open.size <= 1, 1000);
    // sampling goes on; the full ring drops the oldest telemetry and counts it
    expect(stats.app.windows).toBeGreaterThan(8);
    expect(stats.ringDepth).toBeLessThanOrEqual(8);
    expect(stats.dropped).toBe(stats.app.telemetry + stats.app.alerts - stats.ringDepth);
    expect(device.error).toBeUndefined();
  }, 90_000);
});
