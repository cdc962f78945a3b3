// A fleet PKI for the security tests, made with the real `vibewatch pki` modules (openssl):
// the fleet CA, the broker's and the ingest service's server certificates, two devices, a
// gateway, an expired device, a revoked device; and a second, unrelated CA ("rogue") that issues
// a certificate with a legitimate device's CN, as an attacker with their own CA would.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCa } from "../../../pki/ca.js";
import { issueCertificate, type IssuedCertificate } from "../../../pki/issue.js";
import { revokeEntity } from "../../../pki/revoke.js";
import { PkiLayout } from "../../../pki/layout.js";
import { anyTestFailed } from "../../helpers/failure-flag.js";

export const SITE = "plant1";
export const GATEWAY_ID = "gw1";

export interface TestFleetPki {
  root: string;
  layout: PkiLayout;
  broker: IssuedCertificate;
  ingest: IssuedCertificate;
  deviceA: IssuedCertificate;
  deviceB: IssuedCertificate;
  gateway: IssuedCertificate;
  expired: IssuedCertificate;
  /** files of the revoked device (its certificate moved to revoked-<serial>.cert.pem) */
  revoked: { key: string; cert: string; serial: string };
  /** same CN as deviceA, issued by another CA */
  rogue: IssuedCertificate;
  /** a server certificate for 127.0.0.1 from the rogue CA: an impostor ingest service or broker */
  rogueServer: IssuedCertificate;
  rogueLayout: PkiLayout;
  dispose(): void;
}

export async function createTestFleetPki(): Promise<TestFleetPki> {
  const root = mkdtempSync(join(tmpdir(), "vw-test-pki-"));
  const fleetDir = join(root, "fleet");
  const rogueDir = join(root, "rogue");
  // small keys keep the tests quick; production defaults are 3072 (CA) and 2048 (leaves)
  const layout = await initCa(fleetDir, { name: "vibewatch test fleet CA", keyBits: 2048 });
  const rogueLayout = await initCa(rogueDir, { name: "rogue CA", keyBits: 2048 });
  const broker = await issueCertificate(fleetDir, { kind: "server", name: "broker", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const ingest = await issueCertificate(fleetDir, { kind: "server", name: "ingest", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const deviceA = await issueCertificate(fleetDir, { kind: "device", name: "dev-a" });
  const deviceB = await issueCertificate(fleetDir, { kind: "device", name: "dev-b" });
  const gateway = await issueCertificate(fleetDir, { kind: "gateway", name: GATEWAY_ID });
  const expired = await issueCertificate(fleetDir, {
    kind: "device",
    name: "dev-expired",
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2020-02-01T00:00:00Z"),
  });
  const toRevoke = await issueCertificate(fleetDir, { kind: "device", name: "dev-revoked" });
  const revocation = await revokeEntity(layout, "device", "dev-revoked", "keyCompromise");
  const rogue = await issueCertificate(rogueDir, { kind: "device", name: "dev-a" });
  const rogueServer = await issueCertificate(rogueDir, { kind: "server", name: "ingest", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  return {
    root,
    layout,
    broker,
    ingest,
    deviceA,
    deviceB,
    gateway,
    expired,
    revoked: { key: toRevoke.files.key, cert: join(toRevoke.files.dir, `revoked-${revocation.serial}.cert.pem`), serial: revocation.serial },
    rogue,
    rogueServer,
    rogueLayout,
    dispose() {
      if (anyTestFailed()) {
        console.error(`[pki] kept for the post-mortem: ${root}`);
        return;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
