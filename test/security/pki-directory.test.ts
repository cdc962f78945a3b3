// The `vibewatch pki` directory: secrets at 0600, certificates with the right extensions, the
// Moddable build inputs in the formats Moddable's TLS stack parses, revocation reaching the CRL.
// Guards against: keys readable by other users, a device key Moddable cannot parse, certificates
// a broker would not accept for their role, revocations missing from the CRL, and silent re-issue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCa } from "../../pki/ca.js";
import { issueCertificate, type IssuedCertificate } from "../../pki/issue.js";
import { listCertificates } from "../../pki/list.js";
import { revokeEntity } from "../../pki/revoke.js";
import { checkModes } from "../../pki/secret-files.js";
import { openssl } from "../../pki/openssl.js";
import type { PkiLayout } from "../../pki/layout.js";
import type { ManifestFragment } from "../../pki/moddable-outputs.js";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

let root: string;
let dir: string;
let layout: PkiLayout;
let device: IssuedCertificate;
let gateway: IssuedCertificate;
let server: IssuedCertificate;
let previousUmask: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "vw-test-pki-dir-"));
  dir = join(root, "pki");
  // the most careless umask there is: secrets must still come out 0600
  previousUmask = process.umask(0o000);
  layout = await initCa(dir, { keyBits: 2048 });
  device = await issueCertificate(dir, { kind: "device", name: "dev-1" });
  gateway = await issueCertificate(dir, { kind: "gateway", name: "gw1", dnsNames: ["gw1.plant1.lan"], ipAddresses: ["192.168.10.2"] });
  server = await issueCertificate(dir, { kind: "server", name: "ingest.example.com", dnsNames: ["ingest.example.com", "ingest"], ipAddresses: ["10.0.0.5", "::1"] });
  process.umask(previousUmask);
});

afterAll(() => {
  process.umask(previousUmask);
  rmSync(root, { recursive: true, force: true });
});

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe("pki directory", () => {
  it("creates every private key at mode 0600 even under umask 000", () => {
    for (const path of [layout.caKey, device.files.key, device.moddable!.keyDer, gateway.files.key, server.files.key]) {
      expect(mode(path), path).toBe(0o600);
    }
    expect(checkModes(dir, false)).toEqual([]);
  });

  it("finds loosened secret and folder modes and fixes them", () => {
    chmodSync(device.files.key, 0o644);
    chmodSync(layout.caKey, 0o640);
    chmodSync(device.files.dir, 0o777);
    const found = checkModes(dir, false);
    expect(found.map((p) => p.path).sort()).toEqual([device.files.dir, device.files.key, layout.caKey].sort());
    expect(found.every((p) => !p.fixed)).toBe(true);
    expect(mode(device.files.key)).toBe(0o644);
    checkModes(dir, true);
    expect(mode(device.files.key)).toBe(0o600);
    expect(mode(layout.caKey)).toBe(0o600);
    expect(mode(device.files.dir) & 0o022).toBe(0);
    expect(checkModes(dir, false)).toEqual([]);
  });

  it("issues a device certificate with CN = device id, client use only, chained to the fleet CA", () => {
    const ca = new X509Certificate(readFileSync(layout.caCert));
    const x509 = new X509Certificate(readFileSync(device.files.cert));
    expect(x509.subject).toContain("CN=dev-1");
    expect(x509.keyUsage).toEqual([CLIENT_AUTH]);
    expect(x509.subjectAltName).toBeUndefined();
    expect(x509.checkIssued(ca)).toBe(true);
    expect(x509.verify(ca.publicKey)).toBe(true);
    expect(x509.publicKey.asymmetricKeyType).toBe("rsa");
    expect(x509.ca).toBe(false);
    expect(ca.ca).toBe(true);
  });

  it("writes the Moddable inputs: PKCS#8 DER key, DER certificate and CA, and a manifest fragment naming them", () => {
    const outputs = device.moddable!;
    const key = createPrivateKey({ key: readFileSync(outputs.keyDer), format: "der", type: "pkcs8" });
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const cert = new X509Certificate(readFileSync(outputs.certDer));
    expect(cert.raw.equals(new X509Certificate(readFileSync(device.files.cert)).raw)).toBe(true);
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(new X509Certificate(readFileSync(outputs.caDer)).raw.equals(new X509Certificate(readFileSync(layout.caCert)).raw)).toBe(true);

    const fragment = JSON.parse(readFileSync(outputs.manifestFragment, "utf8")) as ManifestFragment;
    expect(fragment.config.device).toBe("dev-1");
    const resourceFiles = fragment.resources["*"].map((entry) => join(device.files.dir, `${entry}.der`));
    expect(resourceFiles.sort()).toEqual([outputs.caDer, outputs.certDer, outputs.keyDer].sort());
    for (const name of [fragment.config.tls_ca, fragment.config.tls_cert, fragment.config.tls_key]) {
      expect(existsSync(join(device.files.dir, name)), name).toBe(true);
    }
  });

  it("gives gateways client and server use with their SANs, and servers server use only with theirs", () => {
    const gw = new X509Certificate(readFileSync(gateway.files.cert));
    expect(gw.subject).toContain("CN=gw.gw1");
    expect([...(gw.keyUsage ?? [])].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
    expect(gw.subjectAltName).toBe("DNS:gw1.plant1.lan, IP Address:192.168.10.2");
    const srv = new X509Certificate(readFileSync(server.files.cert));
    expect(srv.keyUsage).toEqual([SERVER_AUTH]);
    expect(srv.checkHost("ingest.example.com")).toBe("ingest.example.com");
    expect(srv.checkHost("ingest")).toBe("ingest");
    expect(srv.checkIP("10.0.0.5")).toBe("10.0.0.5");
    expect(srv.checkIP("::1")).toBe("::1");
    expect(srv.checkHost("evil.example.com")).toBeUndefined();
  });

  it("links every certificate to the CA by key id, as Moddable's chain check requires (AKI -> SKI)", async () => {
    const keyIds = async (path: string) => {
      const text = (await openssl(["x509", "-in", path, "-noout", "-ext", "subjectKeyIdentifier,authorityKeyIdentifier"])).toString("utf8");
      const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text)?.[1];
      const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
      return { ski, aki };
    };
    const ca = await keyIds(layout.caCert);
    expect(ca.ski).toMatch(/^[0-9A-F:]{20,}$/);
    // the self-signed CA names itself: Moddable looks up the pinned CA by the last chain element's AKI
    expect(ca.aki).toBe(ca.ski);
    for (const leaf of [device, gateway, server]) {
      const ids = await keyIds(leaf.files.cert);
      expect(ids.aki, leaf.name).toBe(ca.ski);
      expect(ids.ski, leaf.name).toMatch(/^[0-9A-F:]{20,}$/);
    }
  });

  it("refuses to re-issue silently; --replace revokes the old certificate and issues a new key", async () => {
    await expect(issueCertificate(dir, { kind: "device", name: "dev-1" })).rejects.toThrow(/already has a certificate.*--replace/);
    const oldKey = readFileSync(device.files.key, "utf8");
    const renewed = await issueCertificate(dir, { kind: "device", name: "dev-1", replace: true });
    expect(renewed.serial).not.toBe(device.serial);
    expect(readFileSync(renewed.files.key, "utf8")).not.toBe(oldKey);
    const states = new Map(listCertificates(layout).map((entry) => [entry.serial, entry]));
    expect(states.get(device.serial)?.state).toBe("revoked");
    expect(states.get(device.serial)?.revocationReason).toBe("superseded");
    expect(states.get(renewed.serial)?.state).toBe("valid");
    device = renewed;
  });

  it("lists expired certificates as expired and puts revoked serials into the CRL", async () => {
    const old = await issueCertificate(dir, { kind: "device", name: "dev-old", notBefore: new Date("2021-01-01T00:00:00Z"), notAfter: new Date("2021-06-01T00:00:00Z") });
    const gone = await issueCertificate(dir, { kind: "device", name: "dev-gone" });
    await revokeEntity(layout, "device", "dev-gone", "cessationOfOperation");
    const entries = new Map(listCertificates(layout).map((entry) => [entry.serial, entry]));
    expect(entries.get(old.serial)).toMatchObject({ state: "expired", commonName: "dev-old", kind: "device" });
    expect(entries.get(old.serial)?.notBefore?.toISOString()).toBe("2021-01-01T00:00:00.000Z");
    expect(entries.get(gone.serial)).toMatchObject({ state: "revoked", revocationReason: "cessationOfOperation" });
    expect(entries.get(gateway.serial)?.state).toBe("valid");

    const crlText = (await openssl(["crl", "-in", layout.crl, "-noout", "-text"])).toString("utf8");
    expect(crlText).toContain(gone.serial);
    expect(crlText).not.toContain(gateway.serial);
    // the CRL is signed by the fleet CA
    await openssl(["crl", "-in", layout.crl, "-noout", "-CAfile", layout.caCert]);
  });

  it("rejects names that are not ids, bad SANs and a second CA in the same folder, saying what is wrong", async () => {
    await expect(issueCertificate(dir, { kind: "device", name: "Dev_1" })).rejects.toThrow(/invalid device id "Dev_1"/);
    await expect(issueCertificate(dir, { kind: "device", name: "gw.gw1" })).rejects.toThrow(/invalid device id/);
    await expect(issueCertificate(dir, { kind: "server", name: "api", ipAddresses: ["10.0.0.300"] })).rejects.toThrow(/"10\.0\.0\.300" is not an IP address/);
    await expect(issueCertificate(dir, { kind: "device", name: "dev-2", dnsNames: ["dev-2.lan"] })).rejects.toThrow(/device certificates carry no host names/);
    await expect(initCa(dir)).rejects.toThrow(/already holds a CA/);
    await expect(issueCertificate(join(root, "nowhere"), { kind: "device", name: "dev-3" })).rejects.toThrow(/no CA in .*pki init/);
  });
});
