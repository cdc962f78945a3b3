// The downloader's rules (firmware/ota/chunk-downloader.ts), on a fake slot and a manual clock:
// nothing is asked while the ring has messages waiting; replies are written in offset order (one
// ahead waits, one behind is a duplicate); erases come 8 sectors at a time, spaced; a resumed
// download starts at its checkpoint and erases from there; an unanswered request is asked again.
import { describe, expect, it } from "vitest";
import { ChunkDownloader, type ChunkDownloaderOptions } from "../../firmware/ota/chunk-downloader.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import { encodeCbor } from "../../protocol/cbor-encoder.js";

const SECTOR = 4096;

function harness(overrides: Partial<ChunkDownloaderOptions> = {}) {
  let nowMs = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const requests: { o: number; n: number }[] = [];
  const erased: number[] = [];
  const written: { offset: number; length: number }[] = [];
  const state = { canSend: true, completed: false, failed: "" };
  const downloader = new ChunkDownloader({
    deviceId: "d-1", bootId: 7, rv: "0.3.0", sizeBytes: 100_000, chunkBytes: 512, startOffset: 0,
    slot: { byteLength: 0x1f0000, blockSize: SECTOR, erase: (s) => erased.push(s), write: (offset, bytes) => written.push({ offset, length: bytes.length }), read: () => new ArrayBuffer(0) },
    scheduler: { set: (fn, ms) => (timers.push({ at: nowMs + ms, fn, id: nextId }), nextId++), clear: (id) => { const i = timers.findIndex((t) => t.id === id); if (i >= 0) timers.splice(i, 1); } },
    nowMs: () => nowMs,
    send: (payload) => (requests.push(decodeCborValue(payload) as { o: number; n: number }), true),
    canSend: () => state.canSend,
    onCheckpoint: () => undefined, onProgress: () => undefined,
    onComplete: () => (state.completed = true),
    onFailed: (reason) => (state.failed = reason),
    ...overrides,
  });
  const advance = (ms: number) => {
    const until = nowMs + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > until) break;
      timers.shift();
      nowMs = due.at;
      due.fn();
    }
    nowMs = until;
  };
  const reply = (o: number, n = 512) => downloader.receive(encodeCbor({ v: 1, rv: "0.3.0", o, c: new Uint8Array(n).fill(1) }, 2048));
  return { downloader, requests, erased, written, state, advance, reply };
}

describe("chunk downloader", () => {
  it("asks nothing while the ring has messages waiting", () => {
    const h = harness();
    h.state.canSend = false;
    h.downloader.start();
    h.advance(5000);
    expect(h.requests).toEqual([]);
    h.state.canSend = true;
    h.advance(100);
    expect(h.requests.map((r) => r.o)).toEqual([0]); // the next one needs no erase: it waits for the first
  });

  it("writes in order, holds one ahead, ignores one behind, erases 8 sectors at a time", () => {
    const h = harness();
    h.downloader.start();
    h.advance(0);
    h.reply(0);
    expect(h.erased).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(h.requests.map((r) => r.o)).toEqual([0, 512, 1024]);
    h.reply(1024); // ahead: held
    expect(h.written.map((w) => w.offset)).toEqual([0]);
    h.reply(512);
    expect(h.written.map((w) => w.offset)).toEqual([0, 512, 1024]);
    h.reply(0); // behind: a duplicate
    expect(h.written).toHaveLength(3);
    expect(h.downloader.counters.duplicates).toBe(1);
  });

  it("spaces erase batches and asks again after a timeout", () => {
    const h = harness();
    h.downloader.start();
    h.advance(0);
    for (let o = 0; o < 8 * SECTOR; o += 512) {
      h.reply(o);
      h.advance(1);
    }
    const asked = h.requests.length;
    expect(h.requests.at(-1)!.o).toBeLessThan(8 * SECTOR + 512); // the chunk needing the next batch waits...
    h.advance(1000);
    expect(h.requests.length).toBeGreaterThan(asked); // ...until the interval has passed
    const timeoutsBefore = h.downloader.counters.timeouts;
    h.advance(5000); // nobody answers
    expect(h.downloader.counters.timeouts).toBeGreaterThan(timeoutsBefore);
    expect(h.requests.filter((r) => r.o === 8 * SECTOR).length).toBeGreaterThan(1);
  });

  it("resumes at its checkpoint and erases from there", () => {
    const h = harness({ startOffset: 65_536 });
    h.downloader.start();
    h.advance(0);
    expect(h.requests[0]!.o).toBe(65_536);
    h.reply(65_536);
    expect(h.erased[0]).toBe(16);
    expect(h.written[0]!.offset).toBe(65_536);
  });
});
