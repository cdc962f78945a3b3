// Issue 14, finding 1: the intake's MQTT client against the real Mosquitto (2.0.11, MQTT 5), its
// bytes observed by a tap (helpers/mqtt-tap.ts). Guards against: a PUBACK that leaves before the
// message is durable (an MQTT library upgrade that acks early would lose data at the next crash),
// a pump that waits for commits, acks out of arrival order, an ack of an old connection that goes
// out on the new one (the packet id there names another message), a broker that sends more than
// the Receive Maximum, shared subscriptions that do not split the load, a frozen broker not noticed,
// a broker without MQTT 5 (the demo's embedded aedes) that the intake cannot use.
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { createServer, type Socket } from "node:net";
import aedes from "aedes";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { MqttTap } from "./helpers/mqtt-tap.js";
import { openIntake, type IntakeOptions, type IntakeUnderTest } from "./helpers/intake-under-test.js";
import { connectClient, until } from "./helpers/device-publisher.js";
import { sourceFilters } from "../../gateway/sources/mqtt-source.js";
import { deviceTopic } from "../../protocol/topics.js";

let broker: MosquittoHandle;
let tap: MqttTap;
let device: MqttClient;
const open: IntakeUnderTest[] = [];
let testNumber = 0;

beforeAll(async () => {
  broker = await startMosquitto({ extraConfig: "max_inflight_messages 1000\nmax_queued_messages 100000\nmax_queued_bytes 0" });
  device = await connectClient(broker.url, "dev-contract", { clean: true });
});

afterEach(async () => {
  for (const intake of open.splice(0)) await intake.kill();
  await tap?.close();
});

afterAll(async () => {
  await device?.endAsync(true);
  await broker?.dispose();
});

/** A fresh site, client id and tap per test, so no session or backlog leaks between tests. */
async function setUp(options: Partial<IntakeOptions> = {}): Promise<{ site: string; intake: () => IntakeUnderTest }> {
  testNumber++;
  tap = await MqttTap.start(broker.port);
  const site = `site-c${testNumber}`;
  const intake = () => {
    const subject = openIntake({ url: tap.url, clientId: `vw-gw-contract-${testNumber}`, filters: sourceFilters([site]), ...options });
    open.push(subject);
    return subject;
  };
  return { site, intake };
}

async function subscribed(connection: number): Promise<void> {
  expect(await until(() => tap.of("suback", { connection, direction: "down" }).length > 0, 5000, 10)).toBe(true);
}

async function publish(site: string, count: number, from = 0): Promise<void> {
  const topic = deviceTopic(site, "dev-1", "tele");
  await Promise.all(Array.from({ length: count }, (_, i) => device.publishAsync(topic, Buffer.from(`m${from + i}`), { qos: 1 })));
}

const payloads = (intake: IntakeUnderTest) => intake.deliveries.map((d) => d.payload.toString());
const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

it("connects with MQTT 5, clean start false, a session that outlives the connection and a Receive Maximum", async () => {
  const { intake } = await setUp({ receiveMaximum: 77 });
  await intake().start();
  const [connect] = tap.of("connect", { direction: "up" });
  expect(connect).toMatchObject({ protocolVersion: 5, clean: false, properties: { receiveMaximum: 77, sessionExpiryInterval: 0xffffffff } });
});

it("sends no PUBACK before ack(): killed before acking, the intake gets every message again", async () => {
  const { site, intake } = await setUp();
  const first = intake();
  await first.start();
  await subscribed(1);
  await publish(site, 20);
  expect(await until(() => first.deliveries.length === 20, 5000, 10)).toBe(true);
  await settle();
  expect(tap.pubackIds()).toEqual([]);
  await first.kill();

  const second = intake();
  await second.start();
  expect(await until(() => second.deliveries.length === 20, 5000, 10)).toBe(true);
  expect(payloads(second).sort()).toEqual(payloads(first).sort());
  expect(tap.pubackIds()).toEqual([]);
  for (const delivery of second.deliveries) delivery.ack();
  expect(await until(() => tap.pubackIds(2).length === 20, 5000, 10)).toBe(true);
  await second.close();

  // acked once: a third connection gets nothing again
  const third = intake();
  await third.start();
  await settle();
  expect(third.deliveries).toEqual([]);
});

it("keeps reading while acks are pending (up to the Receive Maximum)", async () => {
  const { site, intake } = await setUp({ receiveMaximum: 1000 });
  const subject = intake();
  await subject.start();
  await subscribed(1);
  await publish(site, 600);
  expect(await until(() => subject.deliveries.length === 600, 5000, 10)).toBe(true);
  expect(tap.pubackIds()).toEqual([]);
  for (const delivery of subject.deliveries) delivery.ack();
  expect(await until(() => tap.pubackIds().length === 600, 5000, 10)).toBe(true);
});

it("sends PUBACKs in the order the messages arrived, even when acked in another order", async () => {
  const { site, intake } = await setUp();
  const subject = intake();
  await subject.start();
  await subscribed(1);
  await publish(site, 10);
  expect(await until(() => subject.deliveries.length === 10, 5000, 10)).toBe(true);
  // the last five first: none of them may leave before the first five
  for (const delivery of subject.deliveries.slice(5).reverse()) delivery.ack();
  await settle(100);
  expect(tap.pubackIds()).toEqual([]);
  for (const delivery of subject.deliveries.slice(0, 5).reverse()) delivery.ack();
  expect(await until(() => tap.pubackIds().length === 10, 5000, 10)).toBe(true);
  expect(tap.pubackIds()).toEqual(tap.publishIds());
});

it("never sends an ack of an old connection on the new one: the broker redelivers instead", async () => {
  const { site, intake } = await setUp();
  const subject = intake();
  await subject.start();
  await subscribed(1);
  await publish(site, 10);
  expect(await until(() => subject.deliveries.length === 10, 5000, 10)).toBe(true);
  const old = subject.deliveries.splice(0);
  const reconnected = subject.nextConnect();
  subject.dropConnection();
  await reconnected;
  // the broker redelivers the ten on connection 2, with the same packet ids
  expect(await until(() => subject.deliveries.length === 10, 5000, 10)).toBe(true);
  expect(tap.publishIds(2).slice(0, 10)).toEqual(tap.publishIds(1));
  for (const delivery of old) delivery.ack();
  await settle();
  expect(tap.pubackIds()).toEqual([]);
  for (const delivery of subject.deliveries) delivery.ack();
  expect(await until(() => tap.pubackIds(2).length === 10, 5000, 10)).toBe(true);
  await settle(100);
  expect(tap.pubackIds(2)).toHaveLength(10);
});

it("announces its Receive Maximum, gets no more than that many unacked messages in the first window, and counts any excess the broker sends", async () => {
  const { site, intake } = await setUp({ receiveMaximum: 10 });
  const subject = intake();
  await subject.start();
  await subscribed(1);
  await publish(site, 50);
  expect(await until(() => subject.deliveries.length >= 10, 5000, 10)).toBe(true);
  await settle();
  // the broker's own max_inflight_messages is 1000: only our Receive Maximum holds it at 10
  expect(subject.deliveries).toHaveLength(10);
  expect(subject.receiveMaximumExceeded).toBe(0);
  // acking as they come, all fifty arrive, in order
  const acking = setInterval(() => {
    for (const delivery of subject.deliveries) delivery.ack();
  }, 5);
  expect(await until(() => subject.deliveries.length === 50, 5000, 10)).toBe(true);
  clearInterval(acking);
  expect(payloads(subject)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  // Mosquitto 2.0.11 keeps the bound only until the first PUBACK, then sends its whole queue: each
  // PUBLISH that found Receive Maximum others unacked on the wire is counted by the intake
  let inFlight = 0;
  let beyond = 0;
  for (const { direction, packet } of tap.packets) {
    if (direction === "down" && packet.cmd === "publish") {
      if (inFlight >= 10) beyond++;
      inFlight++;
    } else if (direction === "up" && packet.cmd === "puback") inFlight--;
  }
  expect(subject.receiveMaximumExceeded).toBe(beyond);
});

it("splits a shared subscription's messages between the gateways of one group, each message to one", async () => {
  const { site } = await setUp();
  const filters = sourceFilters([site], "gateways");
  expect(filters[0]).toBe(`$share/gateways/vw/v1/${site}/+/tele`);
  const a = openIntake({ url: tap.url, clientId: `vw-gw-share-a-${testNumber}`, filters });
  const b = openIntake({ url: tap.url, clientId: `vw-gw-share-b-${testNumber}`, filters });
  open.push(a, b);
  await a.start();
  await b.start();
  await subscribed(1);
  await subscribed(2);
  for (const intake of [a, b]) {
    intake.deliveries.push = function (...items) {
      for (const item of items) item.ack();
      return Array.prototype.push.apply(this, items);
    };
  }
  await publish(site, 200);
  expect(await until(() => a.deliveries.length + b.deliveries.length === 200, 5000, 10)).toBe(true);
  expect(a.deliveries.length).toBeGreaterThan(0);
  expect(b.deliveries.length).toBeGreaterThan(0);
  expect([...payloads(a), ...payloads(b)].sort()).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`).sort());
});

it("notices a frozen broker within its keepalive and reconnects", async () => {
  const { intake } = await setUp({ keepaliveS: 1 });
  const subject = intake();
  await subject.start();
  tap.freeze();
  const lost = Date.now();
  expect(await until(() => !subject.connected, 5000, 20)).toBe(true);
  expect(Date.now() - lost).toBeLessThan(3000);
});

it("speaks MQTT 3.1.1 to a broker that refuses MQTT 5 (the demo's embedded aedes), still acking only after ack()", async () => {
  const broker = (aedes as unknown as { createBroker: () => { handle: (socket: Socket) => void; close: (done: () => void) => void } }).createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const { site } = await setUp();
  await tap.close();
  tap = await MqttTap.start(port);
  const subject = openIntake({ url: tap.url, clientId: "vw-gw-aedes", filters: sourceFilters([site]) });
  open.push(subject);
  try {
    await subject.start();
    expect(tap.of("connect", { direction: "up" }).map((p) => (p as { protocolVersion: number }).protocolVersion)).toEqual([5, 4]);
    await subscribed(2);
    const publisher = await connectClient(`mqtt://127.0.0.1:${port}`, "dev-aedes", { clean: true });
    await Promise.all([0, 1, 2].map((i) => publisher.publishAsync(deviceTopic(site, "dev-1", "tele"), Buffer.from(`m${i}`), { qos: 1 })));
    await publisher.endAsync();
    expect(await until(() => subject.deliveries.length === 3, 5000, 10)).toBe(true);
    await settle(100);
    expect(tap.pubackIds()).toEqual([]);
    for (const delivery of subject.deliveries) delivery.ack();
    expect(await until(() => tap.pubackIds(2).length === 3, 5000, 10)).toBe(true);
    expect(tap.pubackIds(2)).toEqual(tap.publishIds(2));
  } finally {
    await subject.kill();
    await new Promise<void>((resolve) => broker.close(resolve));
    server.close();
  }
});
