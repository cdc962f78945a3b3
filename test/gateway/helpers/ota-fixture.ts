// Set-up shared by the gateway's OTA tests: a release-signing key pair, signed release dirs, and a
// gateway (in-process, real Mosquitto) with its `ota` section, whose log lines are kept so a test
// can grep them.
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Gateway } from "../../../gateway/gateway.js";
import { createLogger } from "../../../gateway/logger.js";
import { signRelease, writeReleaseDir } from "../../../gateway/ota/release-files.js";
import { testConfig } from "./gateway-fixture.js";

export const SITE = "site-a";

export interface ReleaseKeys {
  privatePem: string;
  publicPem: string;
  publicFile: string;
}

export function makeKeys(dir: string): ReleaseKeys {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  mkdirSync(dir, { recursive: true });
  const publicFile = join(dir, "release-signing.pub.pem");
  writeFileSync(publicFile, publicPem);
  return { privatePem, publicPem, publicFile };
}

/** A deterministic pseudo-random image of `sizeBytes` (seeded, so two versions differ). */
export function makeImage(sizeBytes: number, seed = 1): Uint8Array {
  const image = new Uint8Array(sizeBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    image[i] = x & 0xff;
  }
  return image;
}

export function makeRelease(dir: string, keys: ReleaseKeys, version: string, image: Uint8Array, board = "sim"): string {
  const signed = signRelease({ image, version, board, buildId: `test-${version}`, privateKeyPem: keys.privatePem });
  writeReleaseDir(dir, { image, manifestBytes: signed.manifestBytes, signature: signed.signature });
  return dir;
}

export interface OtaGateway {
  gateway: Gateway;
  url: string;
  /** every log line written so far */
  log(): string;
  stop(): Promise<void>;
}

export async function startOtaGateway(options: { mqttUrl: string; dir: string; publicFile: string; ota?: Record<string, unknown>; http?: Record<string, unknown>; clientId?: string }): Promise<OtaGateway> {
  let output = "";
  const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
  const config = testConfig({
    mqttUrl: options.mqttUrl,
    // nothing listens there: these tests look at OTA, not at forwarding (the sink retries quietly)
    sinkUrl: "http://127.0.0.1:9/v1/batches",
    dir: options.dir,
    overrides: {
      logLevel: "debug",
      mqtt: { clientId: options.clientId ?? `vw-gw-ota-${Math.random().toString(16).slice(2, 8)}` },
      ota: { releasePublicKeyFile: options.publicFile, storeDir: join(options.dir, "ota-releases"), ...options.ota },
      ...(options.http ? { http: { port: 0, ...options.http } } : {}),
    },
  });
  const gateway = await Gateway.start(config, { log: createLogger("debug", sink), processMetrics: false });
  // the distributor connects on its own: wait for it
  const deadline = Date.now() + 10_000;
  while (!gateway.ota?.connected) {
    if (Date.now() > deadline) throw new Error("the OTA distributor did not connect");
    await new Promise((r) => setTimeout(r, 20));
  }
  return { gateway, url: `http://127.0.0.1:${gateway.httpPort}`, log: () => output, stop: () => gateway.stop() };
}

export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (wanted.every((w) => (match[2] ?? "").includes(w))) sum += Number(match[3]);
  }
  return sum;
}
