// Encodes the device's messages (protocol/messages.ts) with the device CBOR encoder.
// Keys are written in the order of the protocol types; physical values become centi-unit integers
// clamped to the contract's ranges (protocol/schema/device-schema.ts), so a wild value is still a
// valid message rather than one the gateway quarantines. The envelope (v, d, b, s, t) is shared:
// one sequence counter per boot for every message kind, so loss and duplicates are countable.
import { CborEncoder } from "../../protocol/cbor-encoder.js";
import { CENTI, MAX_BANDS, PAYLOAD_VERSION } from "../../protocol/limits.js";
import { ZONE_LETTERS, type AlertKind, type ZoneIndex } from "../../protocol/messages.js";
import type { AlertEvent, WindowResult } from "../dsp/analyzer.js";
import type { OtaState } from "../../protocol/ota.js";

const CENTI_MAX = 10_000_000;
const HZ_MAX = 50_000;
const UINT32 = 4294967296;

function centi(value: number): number {
  if (!(value > 0)) return 0; // NaN and negatives: 0 (every centi field is a magnitude)
  const scaled = Math.round(value * CENTI);
  return scaled > CENTI_MAX ? CENTI_MAX : scaled;
}

function signedCenti(value: number): number {
  if (!Number.isFinite(value)) return value > 0 ? CENTI_MAX : value < 0 ? -CENTI_MAX : 0;
  const scaled = Math.round(value * CENTI);
  return scaled > CENTI_MAX ? CENTI_MAX : scaled < -CENTI_MAX ? -CENTI_MAX : scaled;
}

function clampInt(value: number, min: number, max: number): number {
  const rounded = Math.round(value);
  if (!(rounded >= min)) return min;
  return rounded > max ? max : rounded;
}

export interface StatusFields {
  firmwareVersion: string;
  uptimeS: number;
  freeMemoryBytes: number;
  rssiDbm: number;
  ringDepth: number;
  dropped: number;
  fifoOverruns: number;
  sensorPart: string;
  sampleRateHz: number;
  baselineState: 0 | 1 | 2;
  bandEdgesHz: readonly number[];
  configVersion: number;
  configError?: string;
  /** OTA (sl, os, ot, op, oe): absent on a build without the OTA agent */
  ota?: { slot: 0 | 1; state: OtaState; target?: string; progressBytes?: number; error?: string };
}

export class MessageBuilder {
  readonly deviceId: string;
  readonly bootId: number;
  readonly #encoder = new CborEncoder(512);
  readonly #clockMs: () => number;
  #sequence = 0;

  /** `clockMs`: ms since the epoch, or 0 while the clock is not set */
  constructor(deviceId: string, bootId: number, clockMs: () => number) {
    this.deviceId = deviceId;
    this.bootId = bootId >>> 0;
    this.#clockMs = clockMs;
  }

  /** the sequence number the next message gets */
  get nextSequence(): number {
    return this.#sequence;
  }

  /** builds one message; a build that throws gives its sequence number back (no gap downstream) */
  #build(body: () => void): Uint8Array {
    const sequence = this.#sequence;
    try {
      body();
    } catch (error) {
      this.#sequence = sequence;
      throw error;
    }
    return this.#encoder.bytes();
  }

  #envelope(extraPairs: number): CborEncoder {
    const e = this.#encoder.reset();
    const sequence = this.#sequence;
    this.#sequence = sequence + 1 >= UINT32 ? 0 : sequence + 1;
    const now = this.#clockMs();
    e.map(5 + extraPairs);
    e.text("v").int(PAYLOAD_VERSION);
    e.text("d").text(this.deviceId);
    e.text("b").int(this.bootId);
    e.text("s").int(sequence);
    e.text("t").int(now > 0 ? Math.floor(now) : 0);
    return e;
  }

  /** Telemetry of one window; the returned view is valid until the next build. */
  telemetry(r: WindowResult): Uint8Array {
    return this.#build(() => this.#telemetry(r));
  }

  #telemetry(r: WindowResult): void {
    const bands = Math.min(r.bandRmsMS2.length, MAX_BANDS);
    const e = this.#envelope(11);
    e.text("w").int(clampInt(r.windowSamples, 16, 65536));
    e.text("r").int(clampInt(r.sampleRateHz, 1, 100_000));
    e.text("a").array(3).int(centi(r.accelRmsMS2[0]!)).int(centi(r.accelRmsMS2[1]!)).int(centi(r.accelRmsMS2[2]!));
    e.text("u").array(3).int(centi(r.velocityRmsMmS[0]!)).int(centi(r.velocityRmsMmS[1]!)).int(centi(r.velocityRmsMmS[2]!));
    e.text("f").array(2).int(clampInt(r.bandHz[0], 0, HZ_MAX)).int(clampInt(r.bandHz[1], 0, HZ_MAX));
    e.text("p").int(centi(r.peakMS2));
    e.text("c").int(centi(r.crest));
    e.text("k").int(centi(r.kurtosis));
    e.text("e").array(bands);
    for (let i = 0; i < bands; i++) e.int(centi(r.bandRmsMS2[i]!));
    e.text("z").int(r.zone);
    e.text("n");
    if (r.anomaly === null) e.null();
    else e.int(centi(r.anomaly));
  }

  /**
   * One alert (a state change of one alarm): x the value that crossed and y the limit it crossed, in
   * centi-units of the kind's quantity (vrms and zone: velocity RMS, mm/s; anomaly: score; sensor:
   * m/s²), z the ISO zone at the time. A zone alert's limit is the boundary of the zone entered
   * (C for a warning, D for an alarm) in mm/s, and it carries a short text.
   */
  alert(event: AlertEvent, zone: ZoneIndex): Uint8Array {
    return this.#build(() => this.#alert(event, zone));
  }

  #alert(event: AlertEvent, zone: ZoneIndex): void {
    const zoneKind = event.kind === ("zone" as AlertKind);
    const e = this.#envelope(zoneKind ? 6 : 5);
    e.text("k").text(event.kind);
    e.text("l").int(event.level);
    e.text("x").int(signedCenti(event.value));
    e.text("y").int(signedCenti(event.limit));
    e.text("z").int(zone);
    if (zoneKind) e.text("m").text(`vrms ${(Math.round(event.value * 100) / 100).toFixed(2)} mm/s: zone ${ZONE_LETTERS[zone]}`);
  }

  status(s: StatusFields): Uint8Array {
    return this.#build(() => this.#status(s));
  }

  #status(s: StatusFields): void {
    const bandEdges = Math.min(s.bandEdgesHz.length, MAX_BANDS + 1);
    const ota = s.ota;
    const otaPairs = ota ? 2 + (ota.target !== undefined ? 1 : 0) + (ota.progressBytes !== undefined ? 1 : 0) + (ota.error ? 1 : 0) : 0;
    const e = this.#envelope((s.configError ? 14 : 13) + otaPairs);
    e.text("o").bool(true);
    e.text("fw").text(s.firmwareVersion.slice(0, 24));
    e.text("up").int(clampInt(s.uptimeS, 0, UINT32 - 1));
    e.text("mem").int(clampInt(s.freeMemoryBytes, 0, UINT32 - 1));
    e.text("rs").int(clampInt(s.rssiDbm, -127, 0));
    e.text("q").int(clampInt(s.ringDepth, 0, UINT32 - 1));
    e.text("x").int(clampInt(s.dropped, 0, UINT32 - 1));
    e.text("ov").int(clampInt(s.fifoOverruns, 0, UINT32 - 1));
    e.text("sp").text(s.sensorPart.slice(0, 16));
    e.text("r").int(clampInt(s.sampleRateHz, 0, 100_000));
    e.text("bl").int(s.baselineState);
    e.text("be").array(bandEdges);
    for (let i = 0; i < bandEdges; i++) e.int(clampInt(s.bandEdgesHz[i]!, 0, HZ_MAX));
    e.text("cv").int(clampInt(s.configVersion, 0, UINT32 - 1));
    if (s.configError) e.text("er").text(s.configError.slice(0, 96));
    if (ota) {
      e.text("sl").int(ota.slot);
      e.text("os").text(ota.state);
      if (ota.target !== undefined) e.text("ot").text(ota.target.slice(0, 24));
      if (ota.progressBytes !== undefined) e.text("op").int(clampInt(ota.progressBytes, 0, UINT32 - 1));
      if (ota.error) e.text("oe").text(ota.error.slice(0, 64));
    }
  }

  /** The Last Will (no sequence number: the broker publishes it, not the device). */
  will(): Uint8Array {
    const e = this.#encoder.reset();
    e.map(4).text("v").int(PAYLOAD_VERSION).text("d").text(this.deviceId).text("b").int(this.bootId).text("o").bool(false);
    return e.bytes().slice();
  }
}
