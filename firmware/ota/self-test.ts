// The self-test of a freshly switched image, booted pending: the image is confirmed only when, within
// the deadline, (1) the sensor answered its identity read, (2) the MQTT session came up, and (3) a
// telemetry message of this boot was acknowledged by the broker. Past the deadline it fails with the
// first check not passed (OTA_REASONS.selfTest*), in that order.
import { OTA_REASONS } from "../../protocol/ota.js";
import type { SessionScheduler } from "../net/mqtt-session.js";

export interface SelfTestOptions {
  deadlineMs: number;
  scheduler: SessionScheduler;
  onPassed(): void;
  onFailed(reason: string): void;
}

export class SelfTest {
  readonly #options: SelfTestOptions;
  #sensor = false;
  #mqtt = false;
  #telemetry = false;
  #timer: unknown;
  #settled = false;

  constructor(options: SelfTestOptions) {
    this.#options = options;
  }

  get settled(): boolean {
    return this.#settled;
  }

  start(): void {
    this.#timer = this.#options.scheduler.set(() => {
      this.#timer = undefined;
      this.#fail(this.#firstMissing());
    }, this.#options.deadlineMs);
    this.#check();
  }

  sensorIdentified(ok: boolean, detail?: string): void {
    if (!ok) {
      this.#fail(detail ? `${OTA_REASONS.selfTestSensor}: ${detail}` : OTA_REASONS.selfTestSensor);
      return;
    }
    this.#sensor = true;
    this.#check();
  }

  mqttUp(): void {
    this.#mqtt = true;
    this.#check();
  }

  telemetryAcknowledged(): void {
    this.#telemetry = true;
    this.#check();
  }

  #firstMissing(): string {
    if (!this.#sensor) return OTA_REASONS.selfTestSensor;
    if (!this.#mqtt) return OTA_REASONS.selfTestMqtt;
    return OTA_REASONS.selfTestTelemetry;
  }

  #check(): void {
    if (this.#settled || this.#timer === undefined || !(this.#sensor && this.#mqtt && this.#telemetry)) return;
    this.#settled = true;
    this.#options.scheduler.clear(this.#timer);
    this.#timer = undefined;
    this.#options.onPassed();
  }

  #fail(reason: string): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#timer !== undefined) this.#options.scheduler.clear(this.#timer);
    this.#timer = undefined;
    this.#options.onFailed(reason);
  }
}
