// Replays quarantined JSON-over-MQTT messages through the RUNNING gateway's mappings (after the
// config was fixed and the gateway restarted with it): each entry is mapped again exactly as a
// live message would be (json-mapping.ts), stored in the buffer as a reading (boot 0, sequence =
// the entry's id, time from the payload or the original arrival), then marked replayed. An entry
// that still does not map stays quarantined, and the reply says why.
// Served by the gateway's ops server: POST /quarantine/replay (loopback callers only), used by
// `vibewatch quarantine replay`. The gateway's own process does the append: a second process must
// not write records into a buffer file the gateway has open (ids and leases live in its memory).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NewRecord } from "../../buffer/record-buffer.js";
import { QuarantineReader, REPLAYED_CODE, type QuarantineEntryRow } from "../../buffer/quarantine-replay.js";
import { JsonMapper, JsonRefusal } from "../json-mqtt/json-mapping.js";
import { replayRecord } from "./reading-stream.js";

export interface ReplayRequest {
  /** entry ids; or all entries (optionally of one source) when absent */
  ids?: number[];
  source?: string;
  /** at most this many entries per request */
  limit?: number;
}

export interface ReplayOutcome {
  id: number;
  outcome: "stored" | "refused" | "skipped";
  source?: string;
  code?: string;
  reason?: string;
}

export interface ReplayReply {
  stored: number;
  refused: number;
  skipped: number;
  results: ReplayOutcome[];
}

const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_LIMIT = 1000;

/** "source:topic" (json-mqtt-source.ts quarantineTopic) -> [source, topic] */
function splitTopic(topic: string): [string, string] | null {
  const at = topic.indexOf(":");
  return at > 0 ? [topic.slice(0, at), topic.slice(at + 1)] : null;
}

export function replayEntries(entries: QuarantineEntryRow[], mappers: ReadonlyMap<string, JsonMapper>, store: (records: NewRecord[]) => void, reader: QuarantineReader): ReplayReply {
  const reply: ReplayReply = { stored: 0, refused: 0, skipped: 0, results: [] };
  for (const entry of entries) {
    const split = splitTopic(entry.topic);
    const mapper = split ? mappers.get(split[0]) : undefined;
    if (entry.code === REPLAYED_CODE) {
      reply.skipped++;
      reply.results.push({ id: entry.id, outcome: "skipped", reason: "already replayed" });
      continue;
    }
    if (!split || !mapper) {
      reply.skipped++;
      reply.results.push({ id: entry.id, outcome: "skipped", reason: split ? `no json-mqtt source "${split[0]}" in the running config` : "not a JSON-over-MQTT source entry (device messages cannot be replayed: a config change does not make them valid)" });
      continue;
    }
    const [source, topic] = split;
    let record: NewRecord;
    try {
      const mapped = mapper.map(topic, entry.payload, entry.atUs);
      record = replayRecord(source, entry.id, mapped.timeUs, mapped.values);
    } catch (error) {
      reply.refused++;
      reply.results.push({ id: entry.id, outcome: "refused", source, code: error instanceof JsonRefusal ? error.code : "VW_SCHEMA", reason: (error as Error).message });
      continue;
    }
    store([record]);
    reader.markReplayed(entry.id, `replayed ${new Date().toISOString()} as source ${source} boot 0 seq ${entry.id}`);
    reply.stored++;
    reply.results.push({ id: entry.id, outcome: "stored", source });
  }
  return reply;
}

/** The ops server route. `mappers`: the running json-mqtt sources' mappers by source name. */
export function quarantineRoutes(bufferPath: string, mappers: () => ReadonlyMap<string, JsonMapper>, store: (records: NewRecord[]) => void) {
  return (request: IncomingMessage, response: ServerResponse, path: string): boolean => {
    if (path !== "/quarantine/replay") return false;
    const send = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const remote = request.socket.remoteAddress ?? "";
    if (!["127.0.0.1", "::1", "::ffff:127.0.0.1"].includes(remote)) {
      send(403, { error: "quarantine replay is for loopback callers only (run vibewatch quarantine replay on the gateway's host)" });
      return true;
    }
    if (request.method !== "POST") {
      response.writeHead(405, { allow: "POST" }).end();
      return true;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () => {
      if (bytes > MAX_BODY_BYTES) return send(413, { error: `body over ${MAX_BODY_BYTES} bytes` });
      let body: ReplayRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as ReplayRequest;
        if (body.ids !== undefined && (!Array.isArray(body.ids) || !body.ids.every((id) => Number.isSafeInteger(id) && id > 0))) throw new Error("ids: want positive integers");
      } catch (error) {
        return send(400, { error: `bad request: ${(error as Error).message}` });
      }
      let reader: QuarantineReader | undefined;
      try {
        reader = new QuarantineReader(bufferPath, { readonly: false });
        const limit = Math.min(body.limit ?? DEFAULT_LIMIT, DEFAULT_LIMIT);
        const entries = body.ids
          ? body.ids.map((id) => reader!.get(id)).filter((entry): entry is QuarantineEntryRow => entry !== undefined)
          : reader.list({ ...(body.source ? { topicPrefix: `${body.source}:` } : {}), limit }).map((summary) => reader!.get(summary.id)).filter((entry): entry is QuarantineEntryRow => entry !== undefined && entry.code !== REPLAYED_CODE);
        const reply = replayEntries(entries, mappers(), store, reader);
        const missing = (body.ids ?? []).filter((id) => !entries.some((entry) => entry.id === id));
        for (const id of missing) reply.results.push({ id, outcome: "skipped", reason: "no such quarantine entry (evicted, or never there)" });
        reply.skipped += missing.length;
        send(200, reply);
      } catch (error) {
        send(503, { error: `replay failed: ${(error as Error).message}` });
      } finally {
        reader?.close();
      }
    });
    return true;
  };
}

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => boolean;

/** The ops server takes one route function: the first of these that answers wins. */
export function anyRoute(...routes: Route[]): Route {
  return (request, response, path) => routes.some((route) => route(request, response, path));
}
