// Guards against a broker's backlog monopolising the gateway's event loop: when a session's queue
// arrives at socket speed, the intake would handle every message it can read (~16,000 in the bench)
// before a timer or the sink's replies are served. The gateway takes one turn of the event loop
// every 1,000 messages (sources/mqtt5-connection.ts). Counted in messages per turn, not in time.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import { YIELD_EVERY_MESSAGES } from "../../gateway/sources/mqtt5-connection.js";

const env = useBrokerAndStandIn();
const BACKLOG = 20_000;
// a turn may also finish the chunk MQTT.js already parsed (a 64 KiB read holds < 400 of these)
const MAX_PER_TURN = YIELD_EVERY_MESSAGES + 1000;

it(`serves the event loop at least every ${YIELD_EVERY_MESSAGES} messages while a backlog of 20,000 arrives, and forwards it all`, async () => {
  const config = testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { sink: { batchMaxRecords: 2000 } } });
  // the first start creates the persistent session; the backlog queues while the gateway is away
  await (await startGateway(config)).stop();
  env.client = await connectClient(env.broker.url, "dev-backlog");
  const topic = deviceTopic("site-a", "press-07", "tele");
  for (let from = 0; from < BACKLOG; from += 2000) {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => env.client!.publishAsync(topic, encode(telemetry("press-07", 3, from + i)), { qos: 1 })));
  }

  env.gateway = await startGateway(config);
  let received = 0;
  env.gateway.source.client.on("packetreceive", (packet) => {
    if (packet.cmd === "publish") received++;
  });
  let atLastTurn = 0;
  let mostPerTurn = 0;
  let turns = 0;
  let counting = true;
  const turn = () => {
    turns++;
    mostPerTurn = Math.max(mostPerTurn, received - atLastTurn);
    atLastTurn = received;
    if (counting) setImmediate(turn);
  };
  setImmediate(turn);

  const forwarded = await until(() => storedSeqs(env.standIn.records(), "press-07").length >= BACKLOG, 60_000, 20);
  counting = false;
  expect(forwarded).toBe(true);
  expect(storedSeqs(env.standIn.records(), "press-07").sort((a, b) => a - b)).toEqual(Array.from({ length: BACKLOG }, (_, i) => i));
  expect(env.standIn.duplicateReadings()).toEqual([]);
  // most of the backlog came through the counted connection (not before the listener was on)
  expect(received).toBeGreaterThan(BACKLOG / 2);
  expect(turns).toBeGreaterThan(received / MAX_PER_TURN);
  expect(mostPerTurn).toBeLessThanOrEqual(MAX_PER_TURN);
});
