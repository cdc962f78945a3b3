// Revocation: `openssl ca -revoke` marks the certificate "R" in index.txt, then a new CRL is
// written at once (ca/crl.pem), so the broker and the ingest service refuse it after they reload.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { openssl } from "./openssl.js";
import type { EntityKind, PkiLayout } from "./layout.js";
import { writePublicFile } from "./secret-files.js";

export const REVOCATION_REASONS = ["unspecified", "keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged"] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface RevokedCertificate {
  serial: string;
  subject: string;
  crlPath: string;
}

/** Revokes the current certificate of a device, gateway or server and regenerates the CRL. */
export async function revokeEntity(layout: PkiLayout, kind: EntityKind, name: string, reason: RevocationReason): Promise<RevokedCertificate> {
  const files = layout.entity(kind, name);
  if (!existsSync(files.cert)) throw new Error(`${kind} "${name}" has no current certificate (${files.cert})`);
  const x509 = new X509Certificate(readFileSync(files.cert));
  const serial = x509.serialNumber.toUpperCase();
  await revokeFile(layout, files.cert, reason);
  // keep the revoked certificate for the record, out of the way of a new one
  renameSync(files.cert, join(files.dir, `revoked-${serial}.cert.pem`));
  return { serial, subject: x509.subject.replaceAll("\n", ", "), crlPath: await generateCrl(layout) };
}

/** Revokes by serial number (hex, as `pki list` prints it), e.g. for a certificate whose folder is gone. */
export async function revokeSerial(layout: PkiLayout, serialHex: string, reason: RevocationReason): Promise<RevokedCertificate> {
  const serial = serialHex.replace(/^0x/i, "").replaceAll(":", "").toUpperCase();
  if (!/^[0-9A-F]+$/.test(serial)) throw new Error(`--serial "${serialHex}" is not a hexadecimal serial number`);
  const path = layout.issuedCert(serial);
  if (!existsSync(path)) throw new Error(`no certificate with serial ${serial} was issued by this CA (${path} missing)`);
  const x509 = new X509Certificate(readFileSync(path));
  await revokeFile(layout, path, reason);
  return { serial, subject: x509.subject.replaceAll("\n", ", "), crlPath: await generateCrl(layout) };
}

async function revokeFile(layout: PkiLayout, certPath: string, reason: RevocationReason): Promise<void> {
  try {
    await openssl(["ca", "-config", "openssl.cnf", "-revoke", certPath, "-crl_reason", reason], { cwd: layout.caDir });
  } catch (error) {
    if (/already revoked/i.test((error as Error).message)) return; // idempotent: revoking twice is not an error
    throw error;
  }
}

/**
 * Writes ca/crl.pem (valid for default_crl_days). Run it on a schedule well inside that period:
 * an expired CRL makes OpenSSL (hence Mosquitto) refuse every client certificate.
 */
export async function generateCrl(layout: PkiLayout): Promise<string> {
  const crl = await openssl(["ca", "-config", "openssl.cnf", "-gencrl", "-crlexts", "crl_ext"], { cwd: layout.caDir });
  writePublicFile(layout.crl, crl);
  return layout.crl;
}
