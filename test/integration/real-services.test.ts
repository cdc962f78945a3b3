// The test helper's services are the real programs: a message goes through the real Mosquitto,
// points go into and come back out of the real InfluxDB, and VictoriaMetrics takes /api/v2/write.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import { startInfluxDb, startMosquitto, startVictoriaMetrics, type InfluxHandle, type MosquittoHandle, type VictoriaHandle } from "../helpers/services.js";
import { encodeCbor } from "../../protocol/cbor-encoder.js";
import { decodeDeviceMessage } from "../../protocol/schema/validate.js";
import { deviceTopic, deviceFilter } from "../../protocol/topics.js";
import { sampleTelemetry } from "../../protocol/examples.js";

describe("real Mosquitto", () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it("delivers a device-encoded telemetry message at QoS 1 that validates on the other side", async () => {
    const subscriber = await mqtt.connectAsync(broker.url, { clientId: "vw-test-sub", clean: true });
    const publisher = await mqtt.connectAsync(broker.url, { clientId: "vw-test-pub", clean: true });
    try {
      await subscriber.subscribeAsync(deviceFilter("tele"), { qos: 1 });
      const received = new Promise<{ topic: string; payload: Uint8Array }>((resolve) => {
        subscriber.once("message", (topic, payload) => resolve({ topic, payload }));
      });
      const bytes = encodeCbor(sampleTelemetry as never);
      await publisher.publishAsync(deviceTopic("plant-1", "pump-07", "tele"), Buffer.from(bytes), { qos: 1 });
      const message = await received;
      expect(message.topic).toBe("vw/v1/plant-1/pump-07/tele");
      const decoded = decodeDeviceMessage("tele", new Uint8Array(message.payload), "pump-07");
      expect(decoded).toEqual({ kind: "tele", payload: sampleTelemetry });
    } finally {
      await subscriber.endAsync();
      await publisher.endAsync();
    }
  });

  it("survives a restart with the same port and keeps persistent sessions", async () => {
    const durable = await mqtt.connectAsync(broker.url, { clientId: "vw-test-durable", clean: false, reconnectPeriod: 0 });
    await durable.subscribeAsync("vw/v1/+/+/tele", { qos: 1 });
    await durable.endAsync();
    await broker.restart();
    const publisher = await mqtt.connectAsync(broker.url, { clientId: "vw-test-pub2" });
    await publisher.publishAsync("vw/v1/plant-1/pump-08/tele", "queued", { qos: 1 });
    await publisher.endAsync();
    // listen before connecting: the queued message follows the CONNACK at once
    const back = mqtt.connect(broker.url, { clientId: "vw-test-durable", clean: false, reconnectPeriod: 0 });
    const payload = await new Promise<string>((resolve) => back.once("message", (_t, p) => resolve(p.toString())));
    expect(payload).toBe("queued");
    await back.endAsync();
  });
});

describe("real InfluxDB 1.x", () => {
  let influx: InfluxHandle;
  beforeAll(async () => {
    influx = await startInfluxDb();
  });
  afterAll(async () => {
    await influx?.dispose();
  });

  it("writes line protocol and reads it back, one point per timestamp", async () => {
    await influx.createDatabase("vw_test");
    const ts = 1_764_000_000_000_000;
    await influx.write("vw_test", `tele,site=plant-1,device=pump-07 vx=1.5,seq=1i ${ts}`);
    // the same point again overwrites itself (idempotent retries rely on this)
    await influx.write("vw_test", `tele,site=plant-1,device=pump-07 vx=1.5,seq=1i ${ts}`);
    const series = await influx.query(`SELECT vx, seq FROM tele WHERE device = 'pump-07'`, "vw_test");
    expect(series).toHaveLength(1);
    expect(series[0]!.values).toEqual([[ts, 1.5, 1]]);
  });
});

describe("real VictoriaMetrics (InfluxDB v2 write API)", () => {
  let vm: VictoriaHandle;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await vm?.dispose();
  });

  it("accepts /api/v2/write with a token and exports the field back", async () => {
    const ts = Date.now();
    const response = await fetch(`${vm.url}/api/v2/write?org=vw&bucket=vw&precision=ms`, {
      method: "POST",
      headers: { Authorization: "Token test-token" },
      body: `tele,site=plant-1,device=pump-07 vx=2.5 ${ts}`,
    });
    expect(response.status).toBe(204);
    const series = await vm.exportSeries('{__name__="tele_vx"}');
    expect(series).toHaveLength(1);
    expect(series[0]!.metric).toMatchObject({ device: "pump-07", site: "plant-1" });
    expect(series[0]!.values).toEqual([2.5]);
  });
});
