// Secret files (private keys, tokens) are created at mode 0600 from the first byte: written to a
// temporary sibling opened with that mode, then renamed, so no reader ever sees them wider.
// checkModes() finds (and fixes) secrets or folders that someone loosened afterwards.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

export const SECRET_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Names that hold secrets inside a PKI directory. */
export function isSecretFile(name: string): boolean {
  // *.key: the CA's key and the release-signing key (pki/release-key.ts)
  return name.endsWith(".key") || name === "key.pem" || name.endsWith("-key.der") || name.endsWith(".token");
}

export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

export function writeSecretFile(path: string, data: string | Uint8Array): void {
  ensurePrivateDir(dirname(path));
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  writeFileSync(temporary, data, { mode: SECRET_FILE_MODE, flag: "wx" });
  renameSync(temporary, path);
}

export function writePublicFile(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  writeFileSync(path, data, { mode: 0o644 });
}

export interface ModeProblem {
  path: string;
  /** permission bits found, e.g. 0o644 */
  mode: number;
  /** permission bits wanted */
  want: number;
  fixed: boolean;
}

/**
 * Walks the PKI directory: secret files must be 0600 and folders must not be writable by others.
 * With fix=true the modes are corrected; every finding is returned either way, so the CLI can say it.
 */
export function checkModes(root: string, fix: boolean): ModeProblem[] {
  const problems: ModeProblem[] = [];
  if (!existsSync(root)) return problems;
  const visit = (path: string, depth: number): void => {
    // bounded: the layout is 3 levels deep; anything deeper is not ours to walk
    if (depth > 6) return;
    const stat = statSync(path);
    const mode = stat.mode & 0o777;
    if (stat.isDirectory()) {
      if ((mode & 0o022) !== 0) problems.push(fixMode(path, mode, mode & ~0o022, fix));
      for (const name of readdirSync(path)) visit(join(path, name), depth + 1);
      return;
    }
    if (stat.isFile() && isSecretFile(basename(path)) && mode !== SECRET_FILE_MODE) {
      problems.push(fixMode(path, mode, SECRET_FILE_MODE, fix));
    }
  };
  visit(root, 0);
  return problems;
}

function fixMode(path: string, mode: number, want: number, fix: boolean): ModeProblem {
  if (fix) chmodSync(path, want);
  return { path, mode, want, fixed: fix };
}

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
