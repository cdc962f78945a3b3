// Issues leaf certificates through `openssl ca`: device (client), gateway (client + server),
// server (ingest service, broker). Key -> CSR -> `openssl ca` with our own extension file, so
// the index.txt database knows every certificate (list, revoke, CRL).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { X509Certificate } from "node:crypto";
import { openssl } from "./openssl.js";
import { commonNameFor, type EntityKind, type PkiLayout } from "./layout.js";
import { leafExtensionsText } from "./openssl-config.js";
import { ensurePrivateDir, writePublicFile, writeSecretFile } from "./secret-files.js";
import { escapeSubjectValue, generateRsaKey, requireCa } from "./ca.js";
import { revokeEntity } from "./revoke.js";
import { writeModdableOutputs, type ModdableOutputs } from "./moddable-outputs.js";

export interface IssueOptions {
  kind: EntityKind;
  /** device id, gateway id or server name */
  name: string;
  /** extra subjectAltName DNS names (servers and gateways) */
  dnsNames?: string[];
  /** extra subjectAltName IP addresses */
  ipAddresses?: string[];
  validityDays?: number;
  /** explicit validity window (UTC); for back-dating, e.g. to test that expired certificates are refused */
  notBefore?: Date;
  notAfter?: Date;
  keyBits?: number;
  /** revoke the current certificate of this name (reason superseded) and issue a new key + certificate */
  replace?: boolean;
}

export interface IssuedCertificate {
  kind: EntityKind;
  name: string;
  commonName: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  files: { dir: string; key: string; cert: string; chain: string };
  moddable?: ModdableOutputs;
}

/** Days per kind: devices live long in the field (re-flashing is costly), servers rotate yearly. */
export const DEFAULT_VALIDITY_DAYS: Record<EntityKind, number> = { device: 1825, gateway: 825, server: 397 };
export const LEAF_KEY_BITS = 2048;

export async function issueCertificate(dir: string, options: IssueOptions): Promise<IssuedCertificate> {
  const layout = requireCa(dir);
  const { kind, name } = options;
  const files = layout.entity(kind, name);
  const dnsNames = unique(options.dnsNames ?? []);
  const ipAddresses = unique(options.ipAddresses ?? []);
  for (const ip of ipAddresses) if (isIP(ip) === 0) throw new Error(`--ip "${ip}" is not an IP address`);
  for (const dns of dnsNames) if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(dns)) throw new Error(`--dns "${dns}" is not a host name`);
  if (kind === "device" && (dnsNames.length > 0 || ipAddresses.length > 0)) throw new Error("device certificates carry no host names (a device is a client only)");
  if (kind === "server" && dnsNames.length === 0 && ipAddresses.length === 0) {
    // a server certificate without a SAN fails every modern host-name check: default to its name
    dnsNames.push(name);
  }

  // checked before anything is revoked or generated, so a bad date leaves no half-done entity
  const validity = validityArgs(options, DEFAULT_VALIDITY_DAYS[kind]);
  if (existsSync(files.cert)) {
    if (!options.replace) {
      throw new Error(`${kind} "${name}" already has a certificate (${files.cert}); use --replace to revoke it and issue a new one`);
    }
    await revokeEntity(layout, kind, name, "superseded");
  }

  ensurePrivateDir(files.dir);
  writeSecretFile(files.key, await generateRsaKey(options.keyBits ?? LEAF_KEY_BITS));
  const commonName = commonNameFor(kind, name);
  const subject = `/O=vibewatch/OU=${kind}/CN=${escapeSubjectValue(commonName)}`;
  writePublicFile(files.csr, await openssl(["req", "-new", "-config", layout.caConfig, "-key", files.key, "-subj", subject]));
  writeFileSync(
    files.extensions,
    leafExtensionsText({ clientAuth: kind !== "server", serverAuth: kind !== "device", dnsNames, ipAddresses }),
  );

  await openssl(
    ["ca", "-batch", "-notext", "-config", "openssl.cnf", "-in", files.csr, "-out", files.cert, "-extfile", files.extensions, "-extensions", "leaf", ...validity],
    { cwd: layout.caDir },
  );
  const certificatePem = readFileSync(files.cert, "utf8");
  writePublicFile(files.chain, certificatePem + readFileSync(layout.caCert, "utf8"));
  const x509 = new X509Certificate(certificatePem);
  const issued: IssuedCertificate = {
    kind,
    name,
    commonName,
    serial: x509.serialNumber.toUpperCase(),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    files: { dir: files.dir, key: files.key, cert: files.cert, chain: files.chain },
  };
  if (kind === "device") issued.moddable = await writeModdableOutputs(layout, name);
  return issued;
}

function validityArgs(options: IssueOptions, defaultDays: number): string[] {
  if (options.notBefore || options.notAfter) {
    const notBefore = options.notBefore ?? new Date();
    const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.validityDays ?? defaultDays) * 86_400_000);
    if (notAfter <= notBefore) throw new Error("the certificate must end after it starts (notAfter <= notBefore)");
    return ["-startdate", opensslDate(notBefore), "-enddate", opensslDate(notAfter)];
  }
  const days = options.validityDays ?? defaultDays;
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new Error(`validity must be 1..36500 days, got ${days}`);
  return ["-days", String(days)];
}

/** GeneralizedTime as `openssl ca -startdate/-enddate` takes it: YYYYMMDDHHMMSSZ (UTC). */
export function opensslDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new Error("invalid date");
  return `${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

function unique(values: string[]): string[] {
  return [...new Set(values.map((v) => v.trim()).filter((v) => v.length > 0))];
}

export type { PkiLayout };
