// The reply-semantics suite against the real InfluxDB 1.6.7 (v1 writer) and the embedded store.
import { startInfluxDb } from "../helpers/services.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { replySemanticsSuite } from "./reply-semantics.js";
import { influxReadBack } from "./helpers/influx-read-back.js";

replySemanticsSuite("InfluxDB 1.6.7 via /write", async () => {
  const influx = await startInfluxDb();
  await influx.createDatabase("vw_reply");
  const writer = new InfluxV1Writer({ url: influx.url, database: "vw_reply", timeoutMs: 5000, gzipThresholdBytes: 4096, maxLinesPerWrite: 5000 });
  return {
    writer,
    storedRids: async (measurement, device) => (await influxReadBack(influx, "vw_reply", measurement, device)).map((p) => p.fields.rid as number),
    dispose: async () => {
      await writer.close();
      await influx.dispose();
    },
  };
});

replySemanticsSuite("embedded SQLite store", async () => {
  const store = new EmbeddedStore({ path: ":memory:" });
  return {
    writer: store,
    storedRids: async (measurement, device) => store.readPoints(measurement, device).map((p) => p.fields.rid as number),
    dispose: () => store.close(),
  };
});
