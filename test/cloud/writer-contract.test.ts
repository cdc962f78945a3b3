// Runs the Writer contract against the three implementations with real storage: InfluxDB 1.6.7
// (v1 /write), VictoriaMetrics (the v2 write API through @influxdata/influxdb-client), SQLite.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startInfluxDb, startVictoriaMetrics, freePort } from "../helpers/services.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import { InfluxV2Writer } from "../../cloud/storage/influx-v2-writer.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { writerContract, type ReadPoint } from "./writer-contract.js";
import { influxReadBack } from "./helpers/influx-read-back.js";

const v1Options = { database: "vw_contract", timeoutMs: 5000, gzipThresholdBytes: 1024, maxLinesPerWrite: 5000 };

writerContract("influx-v1", async () => {
  const influx = await startInfluxDb();
  await influx.createDatabase("vw_contract");
  return {
    writer: new InfluxV1Writer({ ...v1Options, url: influx.url }),
    readBack: (measurement, device) => influxReadBack(influx, "vw_contract", measurement, device),
    unavailableWriter: async () => new InfluxV1Writer({ ...v1Options, url: `http://127.0.0.1:${await freePort()}` }),
    dispose: () => influx.dispose(),
  };
});

const v2Options = { token: "test-token", org: "vw", bucket: "vw", timeoutMs: 5000, gzipThresholdBytes: 1024, maxLinesPerWrite: 5000 };

writerContract("influx-v2", async () => {
  const vm = await startVictoriaMetrics();
  return {
    writer: new InfluxV2Writer({ ...v2Options, url: vm.url }),
    readBack: async (measurement, device, expected) => {
      // VictoriaMetrics: field f of measurement m is metric m_f, time in ms. It keeps every sample
      // it is sent (InfluxDB would keep one per timestamp), so fold by timestamp as InfluxDB does.
      const series = await vm.exportSeries(`{__name__=~"${measurement}_.*",device="${device}"}`, expected > 0 ? 2 : 0);
      const byTime = new Map<number, ReadPoint>();
      for (const s of series) {
        const field = s.metric.__name__!.slice(measurement.length + 1);
        s.timestamps.forEach((ms, index) => {
          const timeUs = ms * 1000;
          const point = byTime.get(timeUs) ?? { timeUs, fields: {} };
          point.fields[field] = s.values[index];
          byTime.set(timeUs, point);
        });
      }
      return [...byTime.values()].sort((a, b) => a.timeUs - b.timeUs);
    },
    unavailableWriter: async () => new InfluxV2Writer({ ...v2Options, url: `http://127.0.0.1:${await freePort()}` }),
    dispose: () => vm.dispose(),
  };
});

writerContract("embedded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vw-embedded-"));
  const store = new EmbeddedStore({ path: join(dir, "ingest.sqlite") });
  return {
    writer: store,
    readBack: async (measurement, device) => store.readPoints(measurement, device).map((p) => ({ timeUs: p.timeUs, fields: p.fields })),
    unavailableWriter: async () => {
      // a store whose database is gone: closed
      const closed = new EmbeddedStore({ path: join(dir, "closed.sqlite") });
      await closed.close();
      return closed;
    },
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
