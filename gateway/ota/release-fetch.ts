// Fetches a release from a URL, once: three GETs (<url>/manifest.cbor, <url>/manifest.sig, then
// <url>/image.bin), each bounded in size and time. The manifest's signature is checked before the
// image is asked for, and the image may not be longer than the signed size. Concurrent requests
// for the same URL share one download, and a URL already fetched is not fetched again (the
// release is in the store): 200 devices offered one release cost one download.
import { MANIFEST_FILE, SIGNATURE_FILE, IMAGE_FILE, ReleaseError, verifyManifest, type ReleaseParts } from "./release-files.js";
import { OTA_MAX_MANIFEST_BYTES, OTA_SIGNATURE_BYTES } from "../../protocol/ota.js";

export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

export interface FetchOptions {
  timeoutMs: number;
  maxImageBytes: number;
  publicKeyPem: string;
}

/** GET `url` into memory, at most `maxBytes` (a longer body is an error, not a truncation). */
async function getBounded(url: URL, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  } catch (error) {
    throw new FetchError(`GET ${url.href}: ${(error as Error).message}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new FetchError(`GET ${url.href}: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new FetchError(`GET ${url.href}: ${declared} bytes, more than the ${maxBytes} expected`);
  }
  const parts: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body ?? []) {
      const bytes = chunk as Uint8Array;
      length += bytes.length;
      if (length > maxBytes) throw new FetchError(`GET ${url.href}: more than the ${maxBytes} bytes expected`);
      parts.push(bytes);
    }
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError(`GET ${url.href}: ${(error as Error).message}`);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function baseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FetchError(`not a URL: "${text}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new FetchError(`release URL must be http(s), got ${url.protocol}`);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/**
 * Downloads and verifies the release at `url` (a folder holding the three files). `skipImage` is
 * asked with the signed version before the image is fetched: a release already stored costs two
 * small GETs, not an image (returns null then).
 */
export async function fetchRelease(url: string, options: FetchOptions, skipImage: (version: string) => boolean = () => false): Promise<ReleaseParts | null> {
  const base = baseUrl(url);
  const manifestBytes = await getBounded(new URL(MANIFEST_FILE, base), OTA_MAX_MANIFEST_BYTES, options.timeoutMs);
  const signature = await getBounded(new URL(SIGNATURE_FILE, base), OTA_SIGNATURE_BYTES, options.timeoutMs);
  // signature and manifest first: the image's size comes from a manifest we can believe
  const manifest = verifyManifest(manifestBytes, signature, options.publicKeyPem);
  if (skipImage(manifest.rv)) return null;
  if (manifest.sz > options.maxImageBytes) throw new ReleaseError("wrong size", `the manifest's image size ${manifest.sz} is above ota.maxImageBytes ${options.maxImageBytes}`);
  const image = await getBounded(new URL(IMAGE_FILE, base), manifest.sz, options.timeoutMs);
  return { image, manifestBytes, signature };
}

/** One download per URL at a time, and none for a URL whose release is stored already. */
export class ReleaseFetcher {
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #fetched = new Map<string, string>();

  constructor(
    private readonly options: FetchOptions,
    /** stores the parts (verifying them) and returns the version */
    private readonly keep: (parts: ReleaseParts) => string,
    private readonly isStored: (version: string) => boolean,
    private readonly counted: (outcome: "ok" | "failed") => void,
  ) {}

  /** The version of the release at `url`, fetching it first if it is not in the store. */
  async obtain(text: string): Promise<string> {
    // one key per folder: "…/3.1.0" and "…/3.1.0/" are the same release
    const url = baseUrl(text).href;
    const known = this.#fetched.get(url);
    if (known !== undefined && this.isStored(known)) return known;
    let pending = this.#inFlight.get(url);
    if (!pending) {
      let storedVersion: string | undefined;
      pending = fetchRelease(url, this.options, (version) => {
        storedVersion = version;
        return this.isStored(version);
      })
        .then((parts) => {
          this.counted("ok");
          const version = parts === null ? (storedVersion as string) : this.keep(parts);
          this.#fetched.set(url, version);
          return version;
        })
        .catch((error: unknown) => {
          if (error instanceof FetchError) this.counted("failed");
          throw error;
        })
        .finally(() => this.#inFlight.delete(url));
      this.#inFlight.set(url, pending);
    }
    return await pending;
  }
}
