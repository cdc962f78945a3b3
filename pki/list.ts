// `pki list`: every certificate the CA issued, from `openssl ca`'s index.txt, with the validity
// start read from the issued copy in newcerts/ (index.txt keeps only the end).
import { existsSync, readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import type { PkiLayout } from "./layout.js";

export type CertificateState = "valid" | "expired" | "revoked" | "not-yet-valid";

export interface CertificateEntry {
  serial: string;
  subject: string;
  commonName: string;
  /** OU of our subjects: device, gateway or server */
  kind: string;
  notBefore: Date | null;
  notAfter: Date;
  state: CertificateState;
  revokedAt: Date | null;
  revocationReason: string | null;
}

export function listCertificates(layout: PkiLayout, now = new Date()): CertificateEntry[] {
  if (!existsSync(layout.index)) throw new Error(`no CA database at ${layout.index}: run \`vibewatch pki init\` first`);
  const entries: CertificateEntry[] = [];
  const lines = readFileSync(layout.index, "utf8").split("\n").filter((line) => line.trim().length > 0);
  lines.forEach((line, lineIndex) => {
    // status, expiry, revocation[,reason], serial, file name, subject (tab separated)
    const fields = line.split("\t");
    if (fields.length < 6) throw new Error(`${layout.index} line ${lineIndex + 1}: expected 6 tab-separated fields, got ${fields.length}`);
    const [status, expiry, revocation, serial, , subject] = fields as [string, string, string, string, string, string];
    const notAfter = parseAsn1Time(expiry);
    const [revokedText, reason] = revocation.split(",");
    const issuedPath = layout.issuedCert(serial);
    const notBefore = existsSync(issuedPath) ? new Date(new X509Certificate(readFileSync(issuedPath)).validFrom) : null;
    let state: CertificateState;
    if (status === "R") state = "revoked";
    else if (notAfter <= now || status === "E") state = "expired";
    else if (notBefore && notBefore > now) state = "not-yet-valid";
    else state = "valid";
    entries.push({
      serial: serial.toUpperCase(),
      subject,
      commonName: subjectField(subject, "CN") ?? "",
      kind: subjectField(subject, "OU") ?? "",
      notBefore,
      notAfter,
      state,
      revokedAt: status === "R" && revokedText ? parseAsn1Time(revokedText) : null,
      revocationReason: status === "R" ? (reason ?? "unspecified") : null,
    });
  });
  return entries;
}

function subjectField(subject: string, key: string): string | undefined {
  for (const part of subject.split("/")) {
    const [k, ...rest] = part.split("=");
    if (k === key) return rest.join("=");
  }
  return undefined;
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, as index.txt stores them. */
export function parseAsn1Time(text: string): Date {
  const match = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text.trim());
  if (!match) throw new Error(`unreadable time "${text}" in index.txt`);
  let year = Number(match[1]);
  if (match[1]!.length === 2) year += year >= 50 ? 1900 : 2000; // RFC 5280 UTCTime rule
  return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
}

export function formatTable(entries: CertificateEntry[]): string {
  const rows = [["SERIAL", "KIND", "CN", "NOT BEFORE", "NOT AFTER", "STATE"]];
  for (const entry of entries) {
    const state = entry.state === "revoked" ? `revoked (${entry.revocationReason})` : entry.state;
    rows.push([entry.serial, entry.kind, entry.commonName, entry.notBefore?.toISOString() ?? "?", entry.notAfter.toISOString(), state]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}
