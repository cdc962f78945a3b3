// Runs the `openssl` CLI (OpenSSL 3). Every certificate operation of the PKI goes through here,
// so no ASN.1 is written by hand and a failure always names the command and OpenSSL's own words.
import { execFile } from "node:child_process";

export const OPENSSL_BIN = process.env.VW_OPENSSL ?? "openssl";

/** Bounded: a stuck openssl (e.g. waiting for a pass phrase on a tty) is killed, not waited on forever. */
const OPENSSL_TIMEOUT_MS = 60_000;

export class OpensslError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`openssl ${args[0] ?? ""} failed (${exitCode === null ? "not run, or killed" : `exit ${exitCode}`}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    this.name = "OpensslError";
  }
}

export interface OpensslOptions {
  cwd?: string;
  /** bytes for stdin, e.g. a CSR */
  input?: string | Buffer;
}

/** Runs `openssl <args>`; resolves with stdout (binary-safe), rejects with an OpensslError. */
export async function openssl(args: string[], options: OpensslOptions = {}): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const child = execFile(
      OPENSSL_BIN,
      args,
      { cwd: options.cwd, encoding: "buffer", timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, OPENSSL_CONF: "/dev/null" } },
      (error, stdout, stderr) => {
        if (error) {
          if (error.code === "ENOENT") {
            reject(new OpensslError(args, `the openssl CLI was not found (${OPENSSL_BIN}); install OpenSSL 3 or set VW_OPENSSL`, null));
            return;
          }
          const code = typeof error.code === "number" ? error.code : null;
          reject(new OpensslError(args, stderr.toString("utf8") || error.message, code));
          return;
        }
        resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** `openssl version`, e.g. "OpenSSL 3.0.19 ..."; throws a clear error when openssl is missing or too old. */
export async function checkOpenssl(): Promise<string> {
  let version: string;
  try {
    version = (await openssl(["version"])).toString("utf8").trim();
  } catch (error) {
    throw new Error(`the PKI needs the openssl CLI (OpenSSL 3) on PATH or in VW_OPENSSL: ${(error as Error).message}`);
  }
  if (!/^OpenSSL 3\./.test(version)) throw new Error(`the PKI needs OpenSSL 3, found "${version}"`);
  return version;
}
