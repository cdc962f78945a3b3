// `vibewatch ota offer | withdraw | status`: drives a site gateway's OTA distributor over its ops
// server (gateway/ota/ota-http.ts), for a site without a cloud. `offer` checks the release here
// first (signature with --public-key; size and SHA-256 always), then uploads it; the gateway
// verifies it again with its own copy of the site's release key before storing or offering it.
import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError } from "../command.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { ReleaseError, checkImage, decodeManifest, readReleaseParts, verifyRelease, type ReleaseParts } from "../../gateway/ota/release-files.js";
import type { OtaDeviceReport, OtaStatusReport } from "../../gateway/ota/ota-distributor.js";

export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:9464";
const TOKEN_ENV = "VW_OTA_TOKEN";
const REQUEST_TIMEOUT_MS = 120_000;

const help = `Usage: vibewatch ota <subcommand> [options]

Subcommands:
  offer     --site <site> (--device <id>... | --all) (--release <dir> | --release-url <url>)
            [--public-key <release-signing.pub.pem>] [--gateway <url>] [--token-file <file>]
            Checks the release dir (size, SHA-256; the signature too with --public-key), uploads it
            to the gateway, which verifies it with the site's key, stores it and publishes a
            retained offer to each device (--all: every device the gateway has seen at the site).
            With --release-url the gateway fetches the release itself (once) from <url>/manifest.cbor,
            manifest.sig and image.bin.
  withdraw  --site <site> (--device <id>... | --all) [--gateway <url>] [--token-file <file>]
            Withdraws the offer (an empty retained message): devices abandon a download of it.
  status    [--gateway <url>] [--json]
            Per device: running version, slot, update state, target, progress, last error.

Options:
  --gateway <url>     the gateway's ops server (default ${DEFAULT_GATEWAY_URL})
  --token-file <file> bearer token for a gateway with ota.offerTokenFile (or set ${TOKEN_ENV})
  -h, --help          this text`;

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function deviceList(values: string[] | undefined, all: boolean | undefined): { devices: string[] } | { all: true } {
  const devices = (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  if (all && devices.length > 0) throw new UsageError("give --device or --all, not both");
  if (all) return { all: true };
  if (devices.length === 0) throw new UsageError("--device <id> (repeatable) or --all is required");
  return { devices };
}

function token(tokenFile: string | undefined): string | undefined {
  if (tokenFile) return readFileSync(tokenFile, "utf8").trim();
  return process.env[TOKEN_ENV] || undefined;
}

class GatewayError extends Error {}

async function call(gateway: string, path: string, init: { method: "GET" | "POST"; body?: Uint8Array | string; type?: string; token?: string | undefined }): Promise<unknown> {
  let response: Response;
  const url = new URL(path, gateway);
  try {
    response = await fetch(url, {
      method: init.method,
      headers: { ...(init.type ? { "content-type": init.type } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new GatewayError(`gateway ${gateway} not reachable: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!response.ok) throw new GatewayError(`gateway refused (HTTP ${response.status}): ${(body as { message?: string } | null)?.message ?? text}`);
  return body;
}

/** The local check before upload: a release that cannot verify is never sent. */
function checkRelease(dir: string, publicKeyFile: string | undefined): ReleaseParts & { version: string; signatureChecked: boolean } {
  const parts = readReleaseParts(dir);
  if (publicKeyFile) {
    const verified = verifyRelease(parts, readFileSync(publicKeyFile, "utf8"));
    return { ...parts, version: verified.manifest.rv, signatureChecked: true };
  }
  const manifest = decodeManifest(parts.manifestBytes);
  checkImage(parts.image, manifest);
  return { ...parts, version: manifest.rv, signatureChecked: false };
}

function progress(device: OtaDeviceReport): string {
  if (device.progressBytes === undefined) return "-";
  return device.sizeBytes ? `${Math.floor((device.progressBytes * 100) / device.sizeBytes)}%` : `${device.progressBytes} B`;
}

export function formatStatus(report: OtaStatusReport): string {
  const rows = report.devices.map((d) => [d.device, d.online ? "online" : "offline", d.running ?? "-", d.slot === undefined ? "-" : String(d.slot), d.state ?? "-", d.target ?? "-", progress(d), d.offered ?? "-", d.error ?? "-", d.lastSeen ?? "-"]);
  const head = ["DEVICE", "LINK", "RUNNING", "SLOT", "STATE", "TARGET", "PROGRESS", "OFFERED", "LAST ERROR", "LAST SEEN"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ").trimEnd();
  const releases = report.releases.map((r) => `${r.version} (${r.sizeBytes} B, ${r.board}, min ${r.minVersion})`).join(", ") || "none";
  return [`site ${report.site}: download slots ${report.slots.held}/${report.slots.max}; releases stored: ${releases}`, line(head), ...rows.map(line)].join("\n");
}

async function run(subcommand: string, argv: string[]): Promise<number> {
  switch (subcommand) {
    case "offer": {
      const { values } = parseCommandArgs(argv, {
        site: { type: "string" },
        device: { type: "string", multiple: true },
        all: { type: "boolean" },
        release: { type: "string" },
        "release-url": { type: "string" },
        "public-key": { type: "string" },
        gateway: { type: "string" },
        "token-file": { type: "string" },
      });
      const site = required(values.site, "site");
      const target = deviceList(values.device, values.all);
      const gateway = values.gateway ?? DEFAULT_GATEWAY_URL;
      if ((values.release === undefined) === (values["release-url"] === undefined)) throw new UsageError("give --release <dir> or --release-url <url>");
      let result: { version: string; devices: string[]; stored: boolean };
      if (values["release-url"] !== undefined) {
        result = (await call(gateway, "/ota/offer", { method: "POST", type: "application/json", token: token(values["token-file"]), body: JSON.stringify({ site, ...target, url: values["release-url"] }) })) as typeof result;
      } else {
        const release = checkRelease(values.release as string, values["public-key"]);
        console.error(`release ${release.version}: size and SHA-256 ok${release.signatureChecked ? ", signature ok" : " (signature: checked by the gateway; give --public-key to check it here)"}`);
        const body = cborEncoder.encode({ site, ...target, image: release.image, manifest: release.manifestBytes, signature: release.signature }) as Uint8Array;
        result = (await call(gateway, "/ota/offer", { method: "POST", type: "application/cbor", token: token(values["token-file"]), body })) as typeof result;
      }
      console.log(`offered ${result.version} to ${result.devices.length} device(s) at ${site}${result.stored ? " (release stored on the gateway)" : ""}: ${result.devices.join(", ")}`);
      return 0;
    }
    case "withdraw": {
      const { values } = parseCommandArgs(argv, { site: { type: "string" }, device: { type: "string", multiple: true }, all: { type: "boolean" }, gateway: { type: "string" }, "token-file": { type: "string" } });
      const site = required(values.site, "site");
      const target = deviceList(values.device, values.all);
      const result = (await call(values.gateway ?? DEFAULT_GATEWAY_URL, "/ota/withdraw", { method: "POST", type: "application/json", token: token(values["token-file"]), body: JSON.stringify({ site, ...target }) })) as { devices: string[] };
      console.log(`withdrew the offer of ${result.devices.length} device(s) at ${site}${result.devices.length ? `: ${result.devices.join(", ")}` : ""}`);
      return 0;
    }
    case "status": {
      const { values } = parseCommandArgs(argv, { gateway: { type: "string" }, json: { type: "boolean" } });
      const report = (await call(values.gateway ?? DEFAULT_GATEWAY_URL, "/ota/status", { method: "GET" })) as OtaStatusReport;
      console.log(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand "${subcommand}" (try: offer, withdraw, status)`);
  }
}

export const otaCommand: Command = {
  name: "ota",
  summary: "offer or withdraw a firmware release at a site, and show every device's update state",
  help,
  async run(argv) {
    const [subcommand, ...rest] = argv;
    if (subcommand === undefined || subcommand === "-h" || subcommand === "--help") {
      console.log(help);
      return subcommand === undefined ? 2 : 0;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(help);
      return 0;
    }
    try {
      return await run(subcommand, rest);
    } catch (error) {
      if (error instanceof ReleaseError || error instanceof GatewayError) {
        console.error(`vibewatch ota ${subcommand}: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
