// `vibewatch release sign`: turns a firmware image into a release dir (image.bin, manifest.cbor,
// manifest.sig) signed with the release-signing key (`vibewatch pki release-key`). The key's
// contents are never printed; errors name the file or the field that is wrong.
import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError } from "../command.js";
import { DEFAULT_BOARD, MAX_BOARD_CHARS, MAX_BUILD_ID_CHARS, NO_FLOOR_VERSION, ReleaseError, hex, signRelease, writeReleaseDir } from "../../gateway/ota/release-files.js";
import { parseVersion } from "../../protocol/ota.js";

const help = `Usage: vibewatch release sign --key <release-signing.key> --image <mc.bin> --version <x.y.z> --out <dir> [options]

Writes a release into <dir>: image.bin (the image), manifest.cbor (version, size, SHA-256, minimum
version, board, build id; CBOR) and manifest.sig (ECDSA P-256 / SHA-256 over manifest.cbor, 64 bytes
r || s). Devices check the signature with the public key they were built with, refuse a board
other than theirs, and refuse any release below the highest --min-version they have confirmed.

Options:
  --key <file>           the release-signing private key (PEM, from \`vibewatch pki release-key\`)
  --image <file>         the firmware image (the Moddable build's xs_esp32.bin / mc.bin)
  --version <x.y.z>      the release's version
  --min-version <x.y.z>  anti-rollback floor this release sets once confirmed (default ${NO_FLOOR_VERSION}: none)
  --board <name>         target board, 1..${MAX_BOARD_CHARS} characters (default ${DEFAULT_BOARD}; "sim" for the simulator)
  --build-id <text>      free text reported by devices, e.g. a git commit (at most ${MAX_BUILD_ID_CHARS} characters)
  --out <dir>            the release dir to write (created if missing)
  -h, --help             this text`;

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ReleaseError("missing file", `${what} ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export const releaseCommand: Command = {
  name: "release",
  summary: "sign a firmware image into a release (manifest + ECDSA P-256 signature) for OTA",
  help,
  async run(argv) {
    const [subcommand, ...rest] = argv;
    if (subcommand === undefined || subcommand === "-h" || subcommand === "--help") {
      console.log(help);
      return subcommand === undefined ? 2 : 0;
    }
    if (subcommand !== "sign") throw new UsageError(`unknown subcommand "${subcommand}" (try: sign)`);
    const { values } = parseCommandArgs(rest, {
      key: { type: "string" },
      image: { type: "string" },
      version: { type: "string" },
      "min-version": { type: "string" },
      board: { type: "string" },
      "build-id": { type: "string" },
      out: { type: "string" },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    const version = required(values.version, "version");
    if (!parseVersion(version)) throw new UsageError(`--version must be major.minor.patch, got "${version}"`);
    const minVersion = values["min-version"];
    if (minVersion !== undefined && !parseVersion(minVersion)) throw new UsageError(`--min-version must be major.minor.patch, got "${minVersion}"`);
    const out = required(values.out, "out");
    const keyPath = required(values.key, "key");
    const imagePath = required(values.image, "image");
    try {
      const image = new Uint8Array(readInput(imagePath, "image"));
      const signed = signRelease({
        image,
        version,
        ...(minVersion !== undefined ? { minVersion } : {}),
        ...(values.board !== undefined ? { board: values.board } : {}),
        ...(values["build-id"] !== undefined ? { buildId: values["build-id"] } : {}),
        privateKeyPem: readInput(keyPath, "key").toString("utf8"),
      });
      writeReleaseDir(out, { image, manifestBytes: signed.manifestBytes, signature: signed.signature });
      const m = signed.manifest;
      console.log(`release ${m.rv} written to ${out}: ${m.sz} bytes, sha256 ${hex(m.h)}, board ${m.bd}, minimum ${m.mn}${m.bi ? `, build ${m.bi}` : ""}`);
      return 0;
    } catch (error) {
      if (error instanceof ReleaseError) {
        console.error(`vibewatch release sign: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
