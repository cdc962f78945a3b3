// The storage the config asks for: InfluxDB v1 /write, InfluxDB v2 client, or (no storage section)
// the embedded SQLite store.
import type { StorageConfig } from "../config/schema.js";
import { EmbeddedStore } from "./embedded-store.js";
import { InfluxV1Writer } from "./influx-v1-writer.js";
import { InfluxV2Writer } from "./influx-v2-writer.js";
import type { Writer } from "./writer.js";

export const DEFAULT_EMBEDDED_PATH = "vibewatch-ingest.sqlite";

export function createWriter(storage: StorageConfig | undefined): Writer {
  if (storage === undefined) return new EmbeddedStore({ path: DEFAULT_EMBEDDED_PATH });
  switch (storage.type) {
    case "influx-v1":
      return new InfluxV1Writer(storage);
    case "influx-v2":
      return new InfluxV2Writer(storage);
    case "embedded":
      return new EmbeddedStore({ path: storage.path });
  }
}
