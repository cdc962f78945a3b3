// The device's own MQTT client (firmware/net/mqtt-client.ts) in the real XS engine, over the
// simulated socket (a real TCP connection), against the real Mosquitto: the contract the session
// relies on (issue 20). The peer on the other side is MQTT.js.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingTcpProxy } from "../e2e/helpers/fault-injecting-tcp-proxy.js";
import { ClientHost } from "./client-harness.js";

const bytes = (length: number, seed = 1): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe("the device's MQTT client against the real Mosquitto", () => {
  let broker: MosquittoHandle;
  let peer: MqttClient;
  const hosts: ClientHost[] = [];
  const host = async (settings: Parameters<typeof ClientHost.start>[0] = {}) => {
    const started = await ClientHost.start(settings);
    hosts.push(started);
    return started;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    peer = await mqtt.connectAsync(broker.url, { clientId: "contract-peer", clean: true, reconnectPeriod: 200 });
  });
  afterEach(async () => {
    for (const started of hosts.splice(0)) await started.stop();
  });
  afterAll(async () => {
    await peer?.endAsync(true);
    await broker?.dispose();
  });

  const received = (topic: string) => {
    const got: { payload: Buffer; retain: boolean; qos: number }[] = [];
    peer.on("message", (t, payload, packet) => {
      if (t === topic) got.push({ payload, retain: packet.retain, qos: packet.qos });
    });
    return got;
  };

  it("publishes at QoS 1 (PUBACK per packet id) and receives QoS 1 messages it subscribed to", async () => {
    const client = await host();
    await peer.subscribeAsync("contract/qos1/up", { qos: 1 });
    const up = received("contract/qos1/up");
    await client.open({ name: "a", port: broker.port, clientId: "contract-qos1" });
    await client.waitFor("a", "connected");
    await client.subscribe("a", 1, [{ topic: "contract/qos1/down", qos: 1 }]);
    expect((await client.waitFor("a", "suback")).granted).toEqual([1]);
    for (let id = 10; id < 15; id++) expect(await client.publish("a", "contract/qos1/up", bytes(40, id), { id })).toBe(true);
    for (let id = 10; id < 15; id++) await client.waitFor("a", "puback", (e) => e.id === id);
    await expect.poll(() => up.length).toBe(5);
    expect(up.map((m) => m.qos)).toEqual([1, 1, 1, 1, 1]);
    expect(Buffer.from(up[0]!.payload)).toEqual(Buffer.from(bytes(40, 10)));

    await peer.publishAsync("contract/qos1/down", Buffer.from(bytes(300, 7)), { qos: 1 });
    const message = await client.waitFor("a", "message");
    expect(message).toMatchObject({ topic: "contract/qos1/down", qos: 1, byteLength: 300 });
    expect(message.payload).toEqual(Array.from(bytes(300, 7)));
  });

  it("has its Will published when the link dies without DISCONNECT, and not after an orderly disconnect", async () => {
    await peer.subscribeAsync("contract/will/+", { qos: 1 });
    const torn = received("contract/will/torn");
    const orderly = received("contract/will/orderly");
    const client = await host();
    for (const name of ["torn", "orderly"]) {
      await client.open({ name, port: broker.port, clientId: `contract-will-${name}`, clean: true, will: { topic: `contract/will/${name}`, payload: [1, 2, 3], qos: 1, retain: false } });
      await client.waitFor(name, "connected");
    }
    await client.call("disconnect", { name: "orderly" });
    await client.call("close", { name: "torn" }); // the socket closes with no DISCONNECT: a dead device
    await expect.poll(() => torn.length, { timeout: 5000 }).toBe(1);
    expect([...torn[0]!.payload]).toEqual([1, 2, 3]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(orderly).toHaveLength(0);
  });

  it("keeps its session (clean session off): a QoS 1 message sent while it was away is delivered after it reconnects", async () => {
    const client = await host();
    await client.open({ name: "first", port: broker.port, clientId: "contract-persistent" });
    await client.waitFor("first", "connected");
    await client.subscribe("first", 1, [{ topic: "contract/persistent", qos: 1 }]);
    await client.waitFor("first", "suback");
    await client.call("close", { name: "first" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await peer.publishAsync("contract/persistent", Buffer.from("while away"), { qos: 1 });
    await client.open({ name: "second", port: broker.port, clientId: "contract-persistent" });
    expect((await client.waitFor("second", "connected")).sessionPresent).toBe(true);
    const message = await client.waitFor("second", "message");
    expect(Buffer.from(message.payload!).toString()).toBe("while away");
  });

  it("notices a frozen broker (SIGSTOP) within 1.5 x keepalive and reports why", async () => {
    const keepAliveMs = 2000;
    const client = await host();
    await client.open({ name: "k", port: broker.port, clientId: "contract-keepalive", clean: true, keepAliveMs });
    await client.waitFor("k", "connected");
    // idle past a few PINGREQ rounds: a live broker keeps it connected
    await new Promise((resolve) => setTimeout(resolve, keepAliveMs * 1.5));
    expect(client.of("k", "closed")).toEqual([]);
    const pid = broker.process.pid!;
    const frozenAtMs = client.virtualMs;
    process.kill(pid, "SIGSTOP");
    try {
      const closed = await client.waitFor("k", "closed", () => true, keepAliveMs * 4);
      expect(closed.reason).toMatch(/^keepalive: no answer from the broker/);
      expect(closed.atMs - frozenAtMs).toBeLessThanOrEqual(keepAliveMs * 1.5);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });

  it("takes an empty retained payload like any message and goes on working (the SDK's client wedged here)", async () => {
    const client = await host();
    await peer.publishAsync("contract/empty", Buffer.from("old"), { qos: 1, retain: true });
    await peer.publishAsync("contract/empty", Buffer.alloc(0), { qos: 1, retain: true }); // clears the retained message
    await client.open({ name: "e", port: broker.port, clientId: "contract-empty", clean: true });
    await client.waitFor("e", "connected");
    await client.subscribe("e", 1, [{ topic: "contract/empty", qos: 1 }]);
    await client.waitFor("e", "suback");
    await peer.publishAsync("contract/empty", Buffer.alloc(0), { qos: 1, retain: true });
    const empty = await client.waitFor("e", "message");
    expect(empty).toMatchObject({ byteLength: 0, payload: [], qos: 1 });
    // the parser is between packets again: the next message and a PUBACK come through
    await peer.publishAsync("contract/empty", Buffer.from("after"), { qos: 1 });
    await client.waitFor("e", "message", (m) => m.byteLength === 5);
    expect(await client.publish("e", "contract/empty/ack", bytes(8), { id: 3 })).toBe(true);
    await client.waitFor("e", "puback", (e) => e.id === 3);
  });

  it("reassembles every packet from 1-byte segments", async () => {
    const client = await host({ segmentBytes: 1 });
    await client.open({ name: "s", port: broker.port, clientId: "contract-segments", clean: true });
    await client.waitFor("s", "connected");
    await client.subscribe("s", 1, [{ topic: "contract/segments", qos: 1 }]);
    expect((await client.waitFor("s", "suback")).granted).toEqual([1]);
    await peer.publishAsync("contract/segments", Buffer.from(bytes(700, 3)), { qos: 1 });
    await peer.publishAsync("contract/segments", Buffer.from(bytes(130, 4)), { qos: 0 });
    const [first, second] = [await client.waitFor("s", "message", (m) => m.byteLength === 700), await client.waitFor("s", "message", (m) => m.byteLength === 130)];
    expect(first.payload).toEqual(Array.from(bytes(700, 3)));
    expect(second).toMatchObject({ qos: 0, payload: Array.from(bytes(130, 4)) });
    expect(await client.publish("s", "contract/segments/up", bytes(10), { id: 9 })).toBe(true);
    await client.waitFor("s", "puback", (e) => e.id === 9);
  });

  it("sends packets larger than a 64-byte send buffer in pieces, and refuses to queue more than its bound", async () => {
    await peer.subscribeAsync("contract/small-buffer", { qos: 1 });
    const got = received("contract/small-buffer");
    const client = await host({ sendBufferBytes: 64 });
    await client.open({ name: "b", port: broker.port, clientId: "contract-small-buffer", clean: true, maxQueuedBytes: 600 });
    await client.waitFor("b", "connected");
    const sent: number[] = [];
    for (let id = 1; id <= 6; id++) if (await client.publish("b", "contract/small-buffer", bytes(250, id), { id })) sent.push(id);
    // 6 x ~270 bytes do not fit a 600-byte queue behind a 64-byte socket: some are refused
    expect(sent.length).toBeLessThan(6);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    // a refused publish is followed by onWritable once the queue has drained below its bound
    for (let id = sent.length + 1; id <= 6; id++) {
      for (;;) {
        const writableBefore = client.of("b", "writable").length;
        if (await client.publish("b", "contract/small-buffer", bytes(250, id), { id })) break;
        await expect.poll(() => client.of("b", "writable").length, { timeout: 10_000 }).toBeGreaterThan(writableBefore);
      }
    }
    expect(client.of("b", "writable").length).toBeGreaterThanOrEqual(1);
    for (let id = 1; id <= 6; id++) await client.waitFor("b", "puback", (e) => e.id === id);
    await expect.poll(() => got.length).toBe(6);
    expect(got.map((m) => [...m.payload])).toEqual([1, 2, 3, 4, 5, 6].map((id) => Array.from(bytes(250, id))));
  });

  it("reports a broker that closes in the middle of a packet as a lost connection, and a new connection starts clean", async () => {
    const proxy = await FaultInjectingTcpProxy.start("127.0.0.1", broker.port);
    try {
      const client = await host();
      await client.open({ name: "m1", port: proxy.port, clientId: "contract-mid-packet" });
      await client.waitFor("m1", "connected");
      await client.subscribe("m1", 1, [{ topic: "contract/mid-packet", qos: 1 }]);
      await client.waitFor("m1", "suback");
      proxy.cutDownstreamAfter(40); // inside the next PUBLISH's 500-byte payload
      await peer.publishAsync("contract/mid-packet", Buffer.from(bytes(500, 9)), { qos: 1 });
      const closed = await client.waitFor("m1", "closed");
      expect(closed.reason).toBe("socket error or closed by the broker");
      expect(client.of("m1", "message")).toEqual([]);
      // the broker never got a PUBACK: it sends the message again, whole, on the next connection
      await client.open({ name: "m2", port: proxy.port, clientId: "contract-mid-packet" });
      await client.waitFor("m2", "connected");
      const again = await client.waitFor("m2", "message");
      expect(again.payload).toEqual(Array.from(bytes(500, 9)));
      expect(again.duplicate).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it("discards an inbound message over its bound without buffering it, and acknowledges it so it does not come back", async () => {
    const client = await host();
    await client.open({ name: "d1", port: broker.port, clientId: "contract-discard", maxInboundBytes: 1024 });
    await client.waitFor("d1", "connected");
    await client.subscribe("d1", 1, [{ topic: "contract/discard", qos: 1 }]);
    await client.waitFor("d1", "suback");
    await peer.publishAsync("contract/discard", Buffer.from(bytes(5000)), { qos: 1 });
    const discarded = await client.waitFor("d1", "message");
    expect(discarded).toMatchObject({ payload: null, byteLength: 5000, discarded: "payload too large" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await client.call("close", { name: "d1" });
    await client.open({ name: "d2", port: broker.port, clientId: "contract-discard", maxInboundBytes: 1024 });
    await client.waitFor("d2", "connected");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.of("d2", "message")).toEqual([]);
  });
});
