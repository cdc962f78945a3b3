// The site's OTA distributor (issue 15): the release store on disk, retained offers, the chunk
// server with its download slots, and the devices' update states, over one MQTT connection of its
// own (MQTT.js, clean start: nothing of it needs a session, and it leaves the intake's QoS 1
// acknowledgement path alone).
//
// Subscriptions (QoS 0): vw/v1/{site}/+/otareq (requests), …/+/status (states; retained, so a
// restart re-learns them), …/+/ota (the retained offers: a restart re-learns what it offered).
// Publishes: offers and withdrawals retained at QoS 1, chunk replies at QoS 0 (never queued while
// offline: a stale reply is worthless, the device asks again).
//
// Survives SIGKILL mid-distribution: releases are on disk, offers on the broker, and the devices
// retry their requests until a gateway answers.
//
// Start it alone (tests, H1's simulated fleet) with OtaDistributor.start({ mqttUrl, site,
// storeDir, releasePublicKeyPem, limits }); the gateway starts it from its `ota` config section.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import pino from "pino";
import { Registry } from "prom-client";
import { otaFilter, parseOtaTopic, otaTopic, OTA_MAX_CHUNK_BYTES } from "../../protocol/ota.js";
import { deviceFilter, isValidId, parseDeviceTopic } from "../../protocol/topics.js";
import { decodeDeviceMessage } from "../../protocol/schema/validate.js";
import { ChunkServer } from "./chunk-server.js";
import { DownloadSlots } from "./download-slots.js";
import { OfferPublisher } from "./offer-publisher.js";
import { OtaMetrics, outcomeReason } from "./ota-metrics.js";
import { ReleaseError, checkPublicKey, readReleaseParts, type ReleaseParts } from "./release-files.js";
import { FetchError, ReleaseFetcher } from "./release-fetch.js";
import { ReleaseStore, StoreError, type StoredRelease } from "./release-store.js";
import { OtaStateTracker, type OtaTransition } from "./state-tracker.js";
import { DEFAULT_OTA_LIMITS, type OtaDeviceReport, type OtaLimits, type OtaStatusReport } from "./ota-types.js";

export { DEFAULT_OTA_LIMITS, type OtaDeviceReport, type OtaLimits, type OtaStatusReport } from "./ota-types.js";

export interface OtaMqttOptions {
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  reconnectMs?: number;
}

export interface OtaDistributorOptions {
  mqttUrl: string;
  site: string;
  storeDir: string;
  /** the site's release-signing public key (PEM): nothing else is stored or served */
  releasePublicKeyPem: string;
  limits?: Partial<OtaLimits>;
  /** default vw-ota-<site>-<random> */
  clientId?: string;
  mqtt?: OtaMqttOptions;
  /** where the metrics register (the gateway's registry); default a registry of its own */
  registry?: Registry;
  log?: Logger;
}

/** Where an offered release comes from. */
export type ReleaseSource = { dir: string } | { url: string } | { parts: ReleaseParts };

export interface OfferRequest {
  release: ReleaseSource;
  /** device ids, or "all": every device whose status this distributor has seen */
  devices: readonly string[] | "all";
}

export interface OfferResult {
  version: string;
  devices: string[];
  /** false when the release was in the store already */
  stored: boolean;
}

/** A refusal of an offer or withdrawal, with the HTTP status that fits it. */
export class OtaRequestError extends Error {
  constructor(
    readonly statusCode: 400 | 409 | 422 | 502 | 503 | 507,
    message: string,
  ) {
    super(message);
    this.name = "OtaRequestError";
  }
}

export class OtaDistributor {
  readonly metrics: OtaMetrics;
  readonly store: ReleaseStore;
  readonly limits: OtaLimits;
  readonly #client: MqttClient;
  readonly #slots: DownloadSlots;
  readonly #server: ChunkServer;
  readonly #offers: OfferPublisher;
  readonly #tracker: OtaStateTracker;
  readonly #fetcher: ReleaseFetcher;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #stopped = false;

  private constructor(readonly options: OtaDistributorOptions) {
    if (!isValidId(options.site)) throw new Error(`invalid site id "${options.site}"`);
    this.limits = { ...DEFAULT_OTA_LIMITS, ...options.limits };
    if (this.limits.chunkBytes > OTA_MAX_CHUNK_BYTES) throw new Error(`ota.chunkBytes ${this.limits.chunkBytes} above the contract's ${OTA_MAX_CHUNK_BYTES}`);
    // a wrong key file fails the start, not every offer later
    checkPublicKey(options.releasePublicKeyPem);
    if (this.limits.deviceBurstBytes < this.limits.chunkBytes) throw new Error(`ota.deviceBurstBytes ${this.limits.deviceBurstBytes} must hold one chunk (ota.chunkBytes ${this.limits.chunkBytes})`);
    this.#log = options.log ?? pino({ level: "silent" });
    this.metrics = new OtaMetrics(options.registry ?? new Registry());
    this.store = new ReleaseStore(options.storeDir, options.releasePublicKeyPem, this.limits.maxStoredReleases);
    this.#slots = new DownloadSlots({
      maxConcurrent: this.limits.maxConcurrentDownloads,
      idleTimeoutMs: this.limits.slotIdleTimeoutMs,
      bytesPerS: this.limits.deviceBytesPerS,
      burstBytes: this.limits.deviceBurstBytes,
      busyRetryMs: this.limits.busyRetryMs,
    }, Math.random, (freed) => this.metrics.slotsReleasedIdle.inc(freed));
    this.#server = new ChunkServer(this.limits.chunkBytes, { image: (version) => this.store.get(version)?.image }, this.#slots, this.metrics);
    this.#offers = new OfferPublisher(options.site, this.limits.chunkBytes, (topic, payload) => this.#publishRetained(topic, payload));
    this.#tracker = new OtaStateTracker(this.limits.maxDevices);
    this.#fetcher = new ReleaseFetcher(
      { timeoutMs: this.limits.fetchTimeoutMs, maxImageBytes: this.limits.maxImageBytes, publicKeyPem: options.releasePublicKeyPem },
      (parts) => this.#keep(parts).release.manifest.rv,
      (version) => this.store.get(version) !== undefined,
      (outcome) => this.metrics.releaseFetches.inc({ outcome }),
    );
    const m = options.mqtt ?? {};
    const clientOptions: IClientOptions = {
      clientId: options.clientId ?? `vw-ota-${options.site}-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: m.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      // a chunk reply queued while offline would be stale: the device asks again
      queueQoSZero: false,
      resubscribe: false,
      manualConnect: true,
      ...(m.username ? { username: m.username } : {}),
      ...(m.password ? { password: m.password } : {}),
      ...(m.ca ? { ca: m.ca } : {}),
      ...(m.cert ? { cert: m.cert } : {}),
      ...(m.key ? { key: m.key } : {}),
    };
    this.#client = mqtt.connect(options.mqttUrl, clientOptions);
    this.#client.on("connect", () => this.#subscribe());
    this.#client.on("message", (topic, payload, packet) => this.#onMessage(topic, payload, packet.retain));
    this.#client.on("error", (error) => this.#log.warn({ err: error }, "ota mqtt error"));
    this.#timer = setInterval(() => this.#expireSlots(), Math.max(50, Math.min(1000, Math.floor(this.limits.slotIdleTimeoutMs / 4))));
  }

  /** Loads the release store, connects (resolves at the first connection or after connectWaitMs; it keeps trying). */
  static async start(options: OtaDistributorOptions, connectWaitMs = 10_000): Promise<OtaDistributor> {
    const distributor = new OtaDistributor(options);
    let report: ReturnType<ReleaseStore["load"]>;
    try {
      report = distributor.store.load();
    } catch (error) {
      await distributor.stop(); // its timer and (unconnected) client must not outlive a failed start
      throw error;
    }
    distributor.metrics.releasesStored.set(distributor.store.size);
    for (const bad of report.setAside) {
      distributor.metrics.releasesRefused.inc({ problem: bad.error.split(":")[0] ?? "bad manifest" });
      distributor.#log.error({ release: bad.name, error: bad.error }, "stored release no longer verifies: set aside, not served");
    }
    if (report.loaded.length > 0) distributor.#log.info({ releases: report.loaded }, "ota releases loaded");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, connectWaitMs);
      distributor.#client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      distributor.#client.connect();
    });
    return distributor;
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  #subscribe(): void {
    const site = this.options.site;
    const filters = [otaFilter("otareq", site), deviceFilter("status", site), otaFilter("ota", site)];
    this.#client.subscribe(filters, { qos: 0 }, (error) => {
      if (error) this.#log.error({ err: error, filters }, "ota subscription refused");
    });
  }

  #onMessage(topic: string, payload: Buffer, retained: boolean): void {
    try {
      const ota = parseOtaTopic(topic);
      if (ota && ota.site === this.options.site) {
        if (ota.kind === "otareq") this.#onRequest(ota.device, payload);
        else if (ota.kind === "ota") this.#offers.observe(ota.device, new Uint8Array(payload));
        return;
      }
      const parsed = parseDeviceTopic(topic);
      if (parsed?.kind === "status" && parsed.site === this.options.site) this.#onStatus(parsed.device, payload, retained);
    } catch (error) {
      // a message that breaks a handler is logged and dropped; it never stops the distributor
      this.#log.warn({ err: error, topic }, "ota message not handled");
    }
  }

  #onRequest(device: string, payload: Buffer): void {
    const outcome = this.#server.handle(device, new Uint8Array(payload));
    if (outcome.kind === "error") this.#log.debug({ device, reason: outcome.reason, error: outcome.reply.e }, "bad chunk request");
    this.#client.publish(otaTopic(this.options.site, device, "otadata"), Buffer.from(outcome.payload), { qos: 0 });
  }

  #onStatus(device: string, payload: Buffer, retained: boolean): void {
    let message;
    try {
      message = decodeDeviceMessage("status", new Uint8Array(payload), device);
    } catch {
      return; // the intake counts bad statuses; here they only teach nothing
    }
    if (message.kind !== "status" && message.kind !== "will") return;
    const transition = this.#tracker.update(device, message.payload, retained, Date.now());
    const state = this.#tracker.get(device)?.state;
    if (state !== "downloading" && this.#slots.release(device)) this.metrics.downloading.set(this.#slots.held);
    if (transition) this.#count(transition);
  }

  #count(transition: OtaTransition): void {
    const reason = outcomeReason(transition.error);
    switch (transition.to) {
      case "pending":
        this.metrics.installed.inc();
        break;
      case "confirmed":
        this.metrics.confirmed.inc();
        break;
      case "rolledback":
        this.metrics.rolledBack.inc({ reason });
        break;
      case "refused":
        this.metrics.refused.inc({ reason });
        break;
      case "failed":
        this.metrics.failed.inc({ reason });
        break;
      default:
        return;
    }
    this.#log.info({ device: transition.device, state: transition.to, target: transition.target, error: transition.error }, "ota outcome");
  }

  #expireSlots(): void {
    this.#slots.expire(Date.now());
    this.metrics.downloading.set(this.#slots.held);
  }

  async #publishRetained(topic: string, payload: Uint8Array): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new OtaRequestError(503, `the broker did not acknowledge ${topic} within ${this.limits.publishTimeoutMs} ms (offer may still go out once it is back)`)),
        this.limits.publishTimeoutMs,
      );
    });
    try {
      await Promise.race([this.#client.publishAsync(topic, Buffer.from(payload), { qos: 1, retain: true }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Verifies and stores (a refusal names the problem and is counted). */
  #keep(parts: ReleaseParts): { release: StoredRelease; stored: boolean } {
    try {
      const result = this.store.put(parts);
      this.metrics.releasesStored.set(this.store.size);
      if (result.stored) this.#log.info({ release: result.release.manifest.rv, sizeBytes: result.release.manifest.sz }, "release stored");
      return result;
    } catch (error) {
      if (error instanceof ReleaseError || error instanceof StoreError) this.metrics.releasesRefused.inc({ problem: error.problem });
      throw error;
    }
  }

  async #obtain(source: ReleaseSource): Promise<{ release: StoredRelease; stored: boolean }> {
    try {
      if ("parts" in source) return this.#keep(source.parts);
      if ("dir" in source) return this.#keep(readReleaseParts(source.dir));
      const sizeBefore = this.store.size;
      const version = await this.#fetcher.obtain(source.url);
      return { release: this.store.get(version) as StoredRelease, stored: this.store.size > sizeBefore };
    } catch (error) {
      if (error instanceof ReleaseError) throw new OtaRequestError(422, `release refused: ${error.message}`);
      if (error instanceof StoreError) throw new OtaRequestError(error.problem === "conflict" ? 409 : 507, `release not stored: ${error.message}`);
      if (error instanceof FetchError) {
        this.metrics.releasesRefused.inc({ problem: "fetch failed" });
        throw new OtaRequestError(502, `release not fetched: ${error.message}`);
      }
      throw error;
    }
  }

  #devices(devices: readonly string[] | "all"): string[] {
    if (devices === "all") {
      const seen = [...new Set([...this.#tracker.list().map((d) => d.device), ...this.#offers.all().keys()])];
      if (seen.length === 0) throw new OtaRequestError(409, `no device of site ${this.options.site} seen yet: name the devices`);
      return seen.sort();
    }
    if (devices.length === 0) throw new OtaRequestError(400, "no device named");
    if (devices.length > this.limits.maxDevices) throw new OtaRequestError(400, `${devices.length} devices named, at most ${this.limits.maxDevices}`);
    for (const device of devices) if (!isValidId(device)) throw new OtaRequestError(400, `invalid device id "${device}"`);
    return [...new Set(devices)];
  }

  /** Stores the release (verified) and publishes its offer to the devices. */
  async offer(request: OfferRequest): Promise<OfferResult> {
    if (this.#stopped) throw new OtaRequestError(503, "the distributor is stopped");
    const devices = this.#devices(request.devices);
    const { release, stored } = await this.#obtain(request.release);
    await this.#offers.offer(release, devices);
    this.metrics.offered.inc(devices.length);
    this.#log.info({ release: release.manifest.rv, devices: devices.length }, "release offered");
    return { version: release.manifest.rv, devices, stored };
  }

  /** Withdraws the offers of the devices ("all": every device with an offer). */
  async withdraw(devices: readonly string[] | "all"): Promise<{ devices: string[] }> {
    if (this.#stopped) throw new OtaRequestError(503, "the distributor is stopped");
    const targets = devices === "all" ? [...this.#offers.all().keys()].sort() : this.#devices(devices);
    await this.#offers.withdraw(targets);
    this.metrics.withdrawn.inc(targets.length);
    for (const device of targets) if (this.#slots.release(device)) this.metrics.downloading.set(this.#slots.held);
    this.#log.info({ devices: targets.length }, "offers withdrawn");
    return { devices: targets };
  }

  status(): OtaStatusReport {
    const offers = this.#offers.all();
    const names = [...new Set([...this.#tracker.list().map((d) => d.device), ...offers.keys()])].sort();
    const devices = names.map((device): OtaDeviceReport => {
      const s = this.#tracker.get(device);
      const size = s?.target ? this.store.get(s.target)?.manifest.sz : undefined;
      const offered = offers.get(device);
      return {
        device,
        online: s?.online ?? false,
        ...(s?.fw !== undefined ? { running: s.fw } : {}),
        ...(s?.slot !== undefined ? { slot: s.slot } : {}),
        ...(s?.state !== undefined ? { state: s.state } : {}),
        ...(s?.target !== undefined ? { target: s.target } : {}),
        ...(s?.progressBytes !== undefined ? { progressBytes: s.progressBytes } : {}),
        ...(size !== undefined ? { sizeBytes: size } : {}),
        ...(s?.error !== undefined ? { error: s.error } : {}),
        ...(offered !== undefined ? { offered } : {}),
        downloading: this.#slots.has(device),
        ...(s ? { lastSeen: new Date(s.lastSeenMs).toISOString() } : {}),
      };
    });
    const releases = this.store.versions().map((version) => {
      const m = (this.store.get(version) as StoredRelease).manifest;
      return { version, sizeBytes: m.sz, board: m.bd, minVersion: m.mn, buildId: m.bi };
    });
    return { site: this.options.site, slots: { held: this.#slots.held, max: this.limits.maxConcurrentDownloads }, releases, devices };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#client.endAsync().catch(() => undefined);
  }
}
