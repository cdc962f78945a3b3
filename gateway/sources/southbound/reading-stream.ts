// The sequence of one southbound source (protocol/readings.ts): a boot id drawn at start, one
// sequence slot per reading, a slot without a record for every gap (a failed poll, an interval an
// OPC UA subscription was down, a message over the rate), and reading times kept strictly
// increasing so two readings of a source never land on one InfluxDB point. Every reading goes into
// the gateway's durable buffer as a record of kind "read"; a reading the buffer could not commit
// (disk full) becomes a counted gap, never a silent hole.
import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import type { NewRecord, QuarantineEntry } from "../../buffer/record-buffer.js";
import type { GatewayMetrics } from "../../metrics.js";
import { PAYLOAD_VERSION } from "../../../protocol/limits.js";
import { MAX_READING_BYTES, REPLAY_BOOT, type Reading } from "../../../protocol/readings.js";
import { cborEncoder, validateReading } from "../../../protocol/schema/validate.js";

/** What a source needs from the gateway. */
export interface SourceContext {
  /** the source's configured name: the record's device field, the InfluxDB tag "source" */
  name: string;
  metrics: GatewayMetrics;
  log: Logger;
  /** one durable transaction (the gateway's buffer append, then a nudge to the sink); throws when it failed */
  store(records: NewRecord[], quarantine?: QuarantineEntry[]): void;
}

export interface ReadingValues {
  measurement: string;
  tags?: Record<string, string>;
  floats?: Record<string, number>;
  ints?: Record<string, number>;
  bools?: Record<string, boolean>;
}

interface Mark {
  seq: number;
  gaps: number;
  lastTimeUs: number;
}

export class ReadingStream {
  /** the source boot id: random, never 0 (0 marks readings replayed from the quarantine) */
  readonly boot = randomInt(1, 2 ** 32);
  #seq = 0;
  #gaps = 0;
  #lastTimeUs = 0;

  constructor(readonly context: SourceContext) {}

  get nextSeq(): number {
    return this.#seq;
  }

  get gaps(): number {
    return this.#gaps;
  }

  /** `slots` reading slots without a reading (counted in /metrics and carried in the next reading) */
  gap(slots = 1, why?: string): void {
    if (slots <= 0) return;
    this.#seq += slots;
    this.#gaps += slots;
    this.context.metrics.sourceGaps.inc({ source: this.context.name }, slots);
    if (why) this.context.log.debug({ slots, why }, "gap");
  }

  /** The next reading as a buffer record (not stored yet: see storeOne, or the caller's transaction). */
  record(timeUs: number, values: ReadingValues): NewRecord {
    // strictly increasing per source: equal times (two OPC UA items sampled together, a JSON ts in
    // whole seconds) move on by 1 µs instead of overwriting each other's point
    const t = Math.max(Math.round(timeUs), this.#lastTimeUs + 1);
    const reading: Reading = { v: PAYLOAD_VERSION, d: this.context.name, b: this.boot, s: this.#seq, t, x: this.#gaps, m: values.measurement };
    if (values.tags && Object.keys(values.tags).length > 0) reading.g = values.tags;
    if (values.floats && Object.keys(values.floats).length > 0) reading.f = values.floats;
    if (values.ints && Object.keys(values.ints).length > 0) reading.i = values.ints;
    if (values.bools && Object.keys(values.bools).length > 0) reading.o = values.bools;
    // the cloud checks the same rules: a reading it would refuse is refused here, with the reason
    validateReading(reading, this.context.name);
    const body = cborEncoder.encode(reading) as Uint8Array;
    if (body.length > MAX_READING_BYTES) throw new Error(`reading is ${body.length} bytes, limit ${MAX_READING_BYTES}`);
    this.#seq += 1;
    this.#lastTimeUs = t;
    return { kind: "read", device: this.context.name, body };
  }

  /** Stores one reading now; a failed commit becomes a gap (logged, counted). Returns true when stored. */
  storeOne(timeUs: number, values: ReadingValues): boolean {
    const mark = this.mark();
    let record: NewRecord;
    try {
      record = this.record(timeUs, values);
    } catch (error) {
      this.gap(1);
      this.context.log.warn({ err: error }, "reading refused (check the source's mapping): counted as a gap");
      return false;
    }
    try {
      this.context.store([record]);
    } catch (error) {
      this.rollback(mark);
      this.gap(1);
      this.context.log.error({ err: error }, "buffer commit failed: the reading is counted as a gap");
      return false;
    }
    this.countValues(values);
    return true;
  }

  countValues(values: ReadingValues): void {
    const count = Object.keys(values.floats ?? {}).length + Object.keys(values.ints ?? {}).length + Object.keys(values.bools ?? {}).length;
    this.context.metrics.sourceValues.inc({ source: this.context.name }, count);
  }

  /** The state before a transaction, to give its slots back when it failed (the broker redelivers). */
  mark(): Mark {
    return { seq: this.#seq, gaps: this.#gaps, lastTimeUs: this.#lastTimeUs };
  }

  rollback(mark: Mark): void {
    this.#seq = mark.seq;
    this.#gaps = mark.gaps;
    this.#lastTimeUs = mark.lastTimeUs;
  }
}

/**
 * A reading replayed from the quarantine: boot 0 (REPLAY_BOOT) and the quarantine entry's id as its
 * sequence, so replaying one entry twice lands on the same point with the same fields.
 */
export function replayRecord(source: string, quarantineId: number, timeUs: number, values: ReadingValues): NewRecord {
  const reading: Reading = { v: PAYLOAD_VERSION, d: source, b: REPLAY_BOOT, s: quarantineId, t: Math.round(timeUs), x: 0, m: values.measurement };
  if (values.tags && Object.keys(values.tags).length > 0) reading.g = values.tags;
  if (values.floats && Object.keys(values.floats).length > 0) reading.f = values.floats;
  if (values.ints && Object.keys(values.ints).length > 0) reading.i = values.ints;
  if (values.bools && Object.keys(values.bools).length > 0) reading.o = values.bools;
  validateReading(reading, source);
  return { kind: "read", device: source, body: cborEncoder.encode(reading) as Uint8Array };
}
