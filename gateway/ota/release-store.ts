// The gateway's release store: verified releases on disk, one folder per version
// (<storeDir>/<version>/image.bin, manifest.cbor, manifest.sig). A release is verified with the
// site's release public key before it is kept, written to a temporary folder (files fsynced),
// then renamed into place and the store folder fsynced: a crash leaves either the whole release or
// nothing (leftover temporary folders are removed at the next start). At start every stored
// release is verified again; one that no longer verifies (disk damage, a changed key) is set
// aside, named in the log and counted, never served.
//
// Bound: at most `maxReleases` releases; storing one more is refused (StoreError "store full")
// until an operator removes one: a release may still be installing somewhere, so none is evicted.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseVersion } from "../../protocol/ota.js";
import { IMAGE_FILE, MANIFEST_FILE, SIGNATURE_FILE, ReleaseError, equalBytes, readRelease, verifyRelease, type ReleaseParts, type VerifiedRelease } from "./release-files.js";

export class StoreError extends Error {
  constructor(
    readonly problem: "conflict" | "store full",
    message: string,
  ) {
    super(`${problem}: ${message}`);
    this.name = "StoreError";
  }
}

export interface StoredRelease extends VerifiedRelease {
  dir: string;
}

export interface StoreLoadReport {
  loaded: string[];
  /** folders that did not verify: name and why */
  setAside: Array<{ name: string; error: string }>;
}

const TEMPORARY_PREFIX = ".incoming-";
const SET_ASIDE_PREFIX = ".refused-";

function writeDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "wx", 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class ReleaseStore {
  readonly #releases = new Map<string, StoredRelease>();

  constructor(
    readonly dir: string,
    private readonly publicKeyPem: string,
    readonly maxReleases: number,
  ) {}

  get size(): number {
    return this.#releases.size;
  }

  get(version: string): StoredRelease | undefined {
    return this.#releases.get(version);
  }

  versions(): string[] {
    return [...this.#releases.keys()];
  }

  /** Reads (and verifies) what is on disk; removes leftovers of an interrupted store. */
  load(): StoreLoadReport {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const report: StoreLoadReport = { loaded: [], setAside: [] };
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (name.startsWith(TEMPORARY_PREFIX)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (name.startsWith(".") || !parseVersion(name)) continue;
      try {
        const release = readRelease(path, this.publicKeyPem);
        if (release.manifest.rv !== name) throw new ReleaseError("bad manifest", `folder ${name} holds release ${release.manifest.rv}`);
        this.#releases.set(name, { ...release, dir: path });
        report.loaded.push(name);
      } catch (error) {
        // kept for an operator to look at, under a name the store never loads
        renameSync(path, join(this.dir, `${SET_ASIDE_PREFIX}${name}-${randomBytes(3).toString("hex")}`));
        report.setAside.push({ name, error: (error as Error).message });
      }
    }
    return report;
  }

  /**
   * Verifies and keeps a release. Storing the same release again is a no-op (stored: false);
   * another manifest under a version already stored is refused (StoreError "conflict").
   */
  put(parts: ReleaseParts): { release: StoredRelease; stored: boolean } {
    const verified = verifyRelease(parts, this.publicKeyPem);
    const version = verified.manifest.rv;
    const existing = this.#releases.get(version);
    if (existing) {
      if (equalBytes(existing.manifestBytes, verified.manifestBytes)) return { release: existing, stored: false };
      throw new StoreError("conflict", `release ${version} is already stored with another manifest (build ${existing.manifest.bi || "-"}); give the new build its own version`);
    }
    if (this.#releases.size >= this.maxReleases) {
      throw new StoreError("store full", `${this.#releases.size} releases stored (ota.maxStoredReleases ${this.maxReleases}); remove one from ${this.dir}`);
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const target = join(this.dir, version);
    const temporary = join(this.dir, `${TEMPORARY_PREFIX}${version}-${randomBytes(4).toString("hex")}`);
    mkdirSync(temporary);
    try {
      writeDurably(join(temporary, IMAGE_FILE), verified.image);
      writeDurably(join(temporary, MANIFEST_FILE), verified.manifestBytes);
      writeDurably(join(temporary, SIGNATURE_FILE), verified.signature);
      fsyncDir(temporary);
      // a folder of that name that was not loaded (set aside or foreign) must not block the rename
      if (existsSync(target)) renameSync(target, join(this.dir, `${SET_ASIDE_PREFIX}${version}-${randomBytes(3).toString("hex")}`));
      renameSync(temporary, target);
      fsyncDir(this.dir);
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      throw error;
    }
    const release: StoredRelease = { ...verified, dir: target };
    this.#releases.set(version, release);
    return { release, stored: true };
  }
}
