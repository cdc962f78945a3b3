// The device application: analysis windows in, MQTT messages out, remote config applied live.
//
//   sampler.onWindow -> telemetry (+ one alert per alarm state change) -> MessageRing -> MqttSession
//   session connect  -> status (retained) ; heartbeat every hb s while connected -> status
//   .../cfg message  -> ConfigKeeper: applied (analyzer, sensor, heartbeat; no reboot) or rejected
//                       (status with "er", nothing changes) -> status
// Flash (Preference, NVS) failures never throw out of the keepers: they are counted here
// (persistFailures, loadFailures), reported in the status's "er" until a write succeeds, and the
// heartbeat tries the refused writes again.
//   .../ota, .../otadata -> OtaAgent (firmware/ota/; only when options.ota is given): chunk requests
//                       go QoS 0 outside the ring, and only while the ring has nothing waiting;
//                       each OTA state change -> status (sl, os, ot, op, oe)
// Boot id: a random uint32 per boot. Sequence: one counter per boot for every message kind.
// The clock, timers, free memory and RSSI are injected (Moddable modules on the device, the
// simulated board in XS), so the same code runs in both places.
import { deviceTopic } from "../../protocol/topics.js";
import type { AnalyzerConfig, Baseline, WindowResult } from "../dsp/analyzer.js";
import { MessageRing } from "../net/message-ring.js";
import { MqttSession, type MqttSessionOptions, type SessionScheduler } from "../net/mqtt-session.js";
import { ConfigKeeper, type EffectiveConfig, type PreferenceStore } from "../config/device-config.js";
import { BaselineKeeper } from "../config/baseline-store.js";
import { MessageBuilder } from "./message-builder.js";
import { OtaAgent, type OtaAgentOptions } from "../ota/ota-agent.js";

/** what the app needs to run the OTA agent; the rest of the agent's options are the app's own */
export type DeviceOtaOptions = Pick<OtaAgentOptions, "board" | "platform" | "selfTestDeadlineMs" | "progressIntervalMs" | "drainTimeoutMs" | "maxChunkBytes">;

/** the sampler as the app uses it (firmware/drivers/sampler.ts FifoSampler) */
export interface WindowSource {
  onWindow?: (result: WindowResult) => void;
  readonly overruns: number;
  start(): void;
  stop(): void;
}

/** the analyzer as the app uses it (firmware/dsp/analyzer.ts VibrationAnalyzer) */
export interface AnalyzerControl {
  configure(partial: Partial<AnalyzerConfig>): void;
  getBaseline(): Baseline;
  setBaseline(baseline: Baseline): void;
  readonly result: WindowResult;
}

/** the accelerometer as the app uses it */
export interface SensorControl {
  readonly part: string;
  /** applies rate and range; returns the output data rate the part runs at, Hz */
  apply(sampleRateHz: number, rangeG: number): number;
}

export type NetworkOptions = Omit<MqttSessionOptions, "clientId" | "will" | "subscriptions" | "ring" | "scheduler" | "nowMs" | "random" | "onConnected" | "onDisconnected" | "onMessage" | "onDiscarded">;

export interface DeviceAppOptions {
  deviceId: string;
  siteId: string;
  firmwareVersion: string;
  sampler: WindowSource;
  analyzer: AnalyzerControl;
  sensor: SensorControl;
  preferences: PreferenceStore;
  network: NetworkOptions;
  ring: { capacityMessages: number; capacityBytes: number };
  scheduler: SessionScheduler & { repeat(callback: () => void, intervalMs: number): unknown };
  random: () => number;
  /** ms since the epoch, 0 while the clock is not set */
  clockMs: () => number;
  /** monotonic ms since boot */
  uptimeMs: () => number;
  freeMemoryBytes: () => number;
  rssiDbm: () => number;
  defaults?: EffectiveConfig;
  /** the OTA agent's board and platform; absent: a build without OTA */
  ota?: DeviceOtaOptions;
}

export class DeviceApp {
  readonly ring: MessageRing;
  readonly session: MqttSession;
  readonly config: ConfigKeeper;
  readonly messages: MessageBuilder;
  /** the OTA agent, when the build has one */
  readonly ota: OtaAgent | undefined;
  readonly #options: DeviceAppOptions;
  readonly #baseline: BaselineKeeper;
  readonly #topics: { tele: string; alert: string; status: string; cfg: string };
  #heartbeat: unknown;
  #sampleRateHz = 0;
  #lastBaselineState: 0 | 1 | 2 = 0;
  #applied: EffectiveConfig | undefined;
  /** counters since boot */
  readonly counters = { windows: 0, telemetry: 0, alerts: 0, statuses: 0, configApplied: 0, configRejected: 0, encodeErrors: 0, persistFailures: 0, loadFailures: 0 };

  constructor(options: DeviceAppOptions) {
    this.#options = options;
    const site = options.siteId;
    const id = options.deviceId;
    this.#topics = { tele: deviceTopic(site, id, "tele"), alert: deviceTopic(site, id, "alert"), status: deviceTopic(site, id, "status"), cfg: deviceTopic(site, id, "cfg") };
    this.messages = new MessageBuilder(id, Math.floor(options.random() * 4294967296), options.clockMs);
    this.ring = new MessageRing(options.ring);
    this.config = new ConfigKeeper(options.preferences, options.defaults);
    this.#baseline = new BaselineKeeper(options.preferences);
    this.ota = options.ota ? this.#makeAgent(options.ota) : undefined;
    this.session = new MqttSession({
      ...options.network,
      clientId: id,
      will: { topic: this.#topics.status, message: this.messages.will().buffer as ArrayBuffer },
      subscriptions: [this.#topics.cfg, ...(this.ota ? this.ota.subscriptions : [])],
      ring: this.ring,
      scheduler: options.scheduler,
      nowMs: options.uptimeMs,
      random: options.random,
      onConnected: () => {
        this.ota?.onConnected();
        this.publishStatus();
      },
      onMessage: (topic, bytes) => this.#onMessage(topic, bytes),
      onAcknowledged: this.ota
        ? (topic) => {
          if (topic === this.#topics.tele) this.ota?.onTelemetryAcknowledged();
        }
        : undefined,
      onDiscarded: (topic, byteLength) => {
        if (topic !== this.#topics.cfg) return;
        this.config.reportRejected(`cfg: ${byteLength} bytes exceed ${options.network.maxInboundBytes}`);
        this.counters.configRejected++;
        this.publishStatus();
      },
    });
    options.sampler.onWindow = (result) => this.#onWindow(result);
  }

  get bootId(): number {
    return this.messages.bootId;
  }

  start(): void {
    try {
      this.#apply(this.config.current, true);
    } catch (error) {
      // a stored config this build cannot apply must not stop the device: build defaults instead
      this.#apply(this.config.fallBackToDefaults(`stored config: ${describe(error)}`), true);
    }
    this.#countFlashFailures(); // reads of the stored config and baseline at boot
    this.ota?.start();
    this.#options.sampler.start();
    this.session.start();
  }

  stop(): void {
    this.#options.sampler.stop();
    if (this.#heartbeat !== undefined) this.#options.scheduler.clear(this.#heartbeat);
    this.#heartbeat = undefined;
    this.session.stop();
  }

  /** Queues a status message (only while connected: a status is news only when it can go out). */
  publishStatus(): void {
    this.#countFlashFailures();
    if (!this.session.connected) return;
    const o = this.#options;
    const analyzer = o.analyzer.result;
    const bytes = this.messages.status({
      firmwareVersion: o.firmwareVersion,
      uptimeS: Math.floor(o.uptimeMs() / 1000),
      freeMemoryBytes: o.freeMemoryBytes(),
      rssiDbm: o.rssiDbm(),
      ringDepth: this.ring.depth,
      dropped: this.ring.dropped,
      fifoOverruns: o.sampler.overruns,
      sensorPart: o.sensor.part,
      sampleRateHz: this.#sampleRateHz,
      baselineState: analyzer.baselineState,
      bandEdgesHz: analyzer.bandEdgesHz,
      configVersion: this.config.current.cv,
      configError: this.#statusError(),
      ...(this.ota ? { ota: this.ota.status() } : {}),
    });
    this.ring.push("priority", this.#topics.status, bytes, true);
    this.counters.statuses++;
    this.session.pump();
  }

  #onWindow(result: WindowResult): void {
    this.counters.windows++;
    try {
      this.ring.push("telemetry", this.#topics.tele, this.messages.telemetry(result));
      this.counters.telemetry++;
      for (const event of result.alerts) {
        this.ring.push("priority", this.#topics.alert, this.messages.alert(event, result.zone));
        this.counters.alerts++;
      }
    } catch {
      // a message that does not fit the encoder's buffer cannot happen with the contract's bounds;
      // if it ever does, count it and keep sampling rather than stop the device
      this.counters.encodeErrors++;
    }
    if (result.baselineState === 1 && this.#lastBaselineState === 0) {
      this.#baseline.save(this.#options.analyzer.getBaseline());
      this.#countFlashFailures();
    }
    this.#lastBaselineState = result.baselineState;
    this.session.pump();
  }

  #makeAgent(ota: DeviceOtaOptions): OtaAgent {
    const o = this.#options;
    return new OtaAgent({
      ...ota,
      deviceId: o.deviceId,
      siteId: o.siteId,
      bootId: this.messages.bootId,
      firmwareVersion: o.firmwareVersion,
      preferences: o.preferences,
      scheduler: o.scheduler,
      nowMs: o.uptimeMs,
      transport: {
        connected: () => this.session.connected,
        ringDepth: () => this.ring.depth,
        ringWaiting: () => this.ring.waiting,
        publish: (topic, payload) => this.session.publishUnsequenced(topic, payload),
      },
      onChange: () => this.publishStatus(),
    });
  }

  #onMessage(topic: string, bytes: Uint8Array): void {
    if (this.ota?.onMessage(topic, bytes)) return;
    if (topic !== this.#topics.cfg) return;
    const outcome = this.config.receive(bytes);
    if (outcome.kind === "same") {
      this.#countFlashFailures(); // a re-delivered config is saved again when flash refused it before
      return;
    }
    if (outcome.kind === "applied") {
      const previous = this.#applied;
      try {
        this.#apply(outcome.config, false);
        this.config.commit();
        this.counters.configApplied++;
      } catch (error) {
        const restored = this.config.rollback(`apply: ${describe(error)}`);
        this.counters.configRejected++;
        if (previous) this.#apply(restored, false);
      }
    } else {
      this.counters.configRejected++;
    }
    this.publishStatus();
  }

  /** Applies a config without a reboot: sensor rate/range, analyzer, heartbeat interval. */
  #apply(config: EffectiveConfig, boot: boolean): void {
    const o = this.#options;
    this.#sampleRateHz = o.sensor.apply(config.sampleRateHz, config.rangeG);
    const analyzerConfig: Partial<AnalyzerConfig> = {
      sampleRateHz: this.#sampleRateHz,
      windowSamples: config.windowSamples,
      hopSamples: config.hopSamples,
      machineClass: config.machineClass,
      velocityWarnMmS: config.velocityWarnMmS,
      velocityAlarmMmS: config.velocityAlarmMmS,
      anomalyAlarm: config.anomalyAlarm,
    };
    // a config may push a baseline; a new learning period relearns; otherwise the baseline stays
    if (config.baseline) analyzerConfig.baseline = config.baseline;
    // (also when a pushed baseline is withdrawn: a reset or a config without one must not keep it)
    else if (boot || config.learningWindows !== this.#applied?.learningWindows || this.#applied?.baseline) analyzerConfig.learningWindows = config.learningWindows;
    o.analyzer.configure(analyzerConfig);
    this.#applied = config;
    if (boot && !config.baseline) {
      const stored = this.#baseline.load();
      if (stored) o.analyzer.setBaseline(stored);
    }
    // a running sampler restarts: the FIFO's stale samples at the old rate go, the next window is new
    if (!boot) o.sampler.start();
    if (this.#heartbeat !== undefined) o.scheduler.clear(this.#heartbeat);
    this.#heartbeat = o.scheduler.repeat(() => this.#onHeartbeat(), config.heartbeatS * 1000);
  }

  #onHeartbeat(): void {
    this.config.retryPersist();
    this.#baseline.retrySave();
    this.publishStatus();
  }

  /** the keepers count flash failures; the app's counters show the totals (stats, metrics) */
  #countFlashFailures(): void {
    const config = this.config.counters;
    const baseline = this.#baseline.counters;
    this.counters.persistFailures = config.persistFailures + baseline.persistFailures;
    this.counters.loadFailures = config.loadFailures + baseline.loadFailures;
  }

  /** "er": the last rejection first (the answer to the config just sent), then what flash refused */
  #statusError(): string | undefined {
    const parts = [this.config.lastError, this.config.flashError, this.#baseline.flashError].filter((part) => part !== undefined);
    return parts.length > 0 ? parts.join("; ") : undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
