// `pki init`: a fleet CA (self-signed RSA root, pathlen 0) with the `openssl ca` database next to it,
// and a first, empty CRL (Mosquitto's crlfile must exist before the broker starts).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { openssl } from "./openssl.js";
import { PkiLayout } from "./layout.js";
import { caConfigText } from "./openssl-config.js";
import { ensurePrivateDir, writePublicFile, writeSecretFile } from "./secret-files.js";
import { generateCrl } from "./revoke.js";

export interface InitCaOptions {
  /** the CA certificate's subject common name */
  name: string;
  validityDays: number;
  keyBits: number;
  crlDays: number;
}

export const DEFAULT_CA_OPTIONS: InitCaOptions = { name: "vibewatch fleet CA", validityDays: 3650, keyBits: 3072, crlDays: 30 };

export async function generateRsaKey(bits: number): Promise<Buffer> {
  // to stdout, so the key reaches disk only through writeSecretFile (mode 0600 from the start)
  return await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`]);
}

export async function initCa(dir: string, options: Partial<InitCaOptions> = {}): Promise<PkiLayout> {
  const settings = { ...DEFAULT_CA_OPTIONS, ...options };
  const layout = new PkiLayout(dir);
  if (existsSync(layout.caKey)) throw new Error(`${layout.caKey} exists: this directory already holds a CA (refusing to overwrite it)`);
  ensurePrivateDir(layout.root);
  ensurePrivateDir(layout.caDir);
  mkdirSync(layout.newCertsDir, { recursive: true, mode: 0o700 });
  writeFileSync(layout.caConfig, caConfigText({ crlDays: settings.crlDays }));
  writeFileSync(layout.index, "");
  writeFileSync(`${layout.index}.attr`, "unique_subject = no\n");
  // a random first serial (positive: top bit clear) so two CAs never hand out the same serials
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  writeFileSync(`${layout.caDir}/serial`, `${serial.toString("hex").toUpperCase()}\n`);
  writeFileSync(`${layout.caDir}/crlnumber`, "1000\n");

  writeSecretFile(layout.caKey, await generateRsaKey(settings.keyBits));
  const subject = `/O=vibewatch/CN=${escapeSubjectValue(settings.name)}`;
  const certificate = await openssl(
    ["req", "-x509", "-new", "-config", "openssl.cnf", "-key", "ca.key", "-subj", subject, "-days", String(settings.validityDays), "-sha256", "-extensions", "v3_ca"],
    { cwd: layout.caDir },
  );
  writePublicFile(layout.caCert, certificate);
  writePublicFile(layout.caDer, await openssl(["x509", "-in", "ca.crt", "-outform", "DER"], { cwd: layout.caDir }));
  await generateCrl(layout);
  return layout;
}

/** `-subj` treats "/" and "+" as separators: escape them in free text. */
export function escapeSubjectValue(value: string): string {
  return value.replace(/([/+=\\])/g, "\\$1");
}

export function requireCa(dir: string): PkiLayout {
  const layout = new PkiLayout(dir);
  if (!existsSync(layout.caKey) || !existsSync(layout.caCert)) {
    throw new Error(`no CA in ${layout.root} (missing ca/ca.key or ca/ca.crt): run \`vibewatch pki init --dir ${dir}\` first`);
  }
  return layout;
}
