// A client of the fleet service's HTTP API, for the CLI and the gateway's sync. Errors carry the
// service's catalog code and message ("VW_BAD_CONFIG: tw: want less than ta").
import type { DeviceView } from "./fleet-view.js";
import type { ConfigSetRequest, SyncReply, SyncRequest } from "./routes.js";
import type { RolloutStartRequest, rolloutSummary } from "./release-routes.js";
import type { StoredReleaseRow } from "./storage/fleet-repository.js";

export type RolloutSummary = ReturnType<typeof rolloutSummary>;

export class FleetApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = "FleetApiError";
  }
}

export class FleetClient {
  constructor(readonly url: string, readonly token: string, readonly timeoutMs = 10_000) {}

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(new URL(path, this.url), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed ?? {}) as { code?: string; message?: string };
      throw new FleetApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? text.slice(0, 200));
    }
    return parsed as T;
  }

  devices(site?: string): Promise<{ devices: DeviceView[] }> {
    return this.#request("GET", site === undefined ? "/v1/devices" : `/v1/devices?site=${encodeURIComponent(site)}`);
  }

  setConfig(request: ConfigSetRequest): Promise<{ revision: number }> {
    return this.#request("PUT", "/v1/config", request);
  }

  setLabels(site: string, device: string, labels: string[]): Promise<{ ok: true }> {
    return this.#request("PUT", "/v1/labels", { site, device, labels });
  }

  publishRelease(files: { image: Uint8Array; manifest: Uint8Array; signature: Uint8Array }): Promise<{ version: string; board: string; sizeBytes: number; stored: boolean }> {
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    return this.#request("PUT", "/v1/releases", { image: b64(files.image), manifest: b64(files.manifest), signature: b64(files.signature) });
  }

  releases(): Promise<{ releases: StoredReleaseRow[] }> {
    return this.#request("GET", "/v1/releases");
  }

  startRollout(request: RolloutStartRequest): Promise<RolloutSummary> {
    return this.#request("POST", "/v1/rollouts", request);
  }

  rollouts(): Promise<{ rollouts: RolloutSummary[] }> {
    return this.#request("GET", "/v1/rollouts");
  }

  rollout(id: string): Promise<RolloutSummary & { members: { site: string; device: string; wave: number; state: string; reason?: string; fromVersion?: string }[] }> {
    return this.#request("GET", `/v1/rollouts/${encodeURIComponent(id)}`);
  }

  rolloutAction(id: string, action: "pause" | "resume" | "abort"): Promise<RolloutSummary> {
    return this.#request("POST", `/v1/rollouts/${encodeURIComponent(id)}/${action}`);
  }

  sync(request: SyncRequest): Promise<SyncReply> {
    return this.#request("POST", "/v1/sync", request);
  }
}
