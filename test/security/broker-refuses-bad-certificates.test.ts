// Issue 7: only clients with a valid certificate from the fleet CA can connect to the production
// broker (manifests/mosquitto/mosquitto.conf). Guards against a broker config that lets clients in
// without a certificate, trusts any CA, ignores expiry, ignores the CRL, or accepts a server
// certificate as a client identity. Each refusal is checked for its TLS alert, so a test cannot
// pass because the broker refused for an unrelated reason.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { createTestFleetPki, type TestFleetPki } from "./helpers/test-fleet-pki.js";
import { PRODUCTION_CONFIG_PATH, startProductionBroker, type ProductionBroker } from "./helpers/production-broker.js";
import { endAll, tryConnect, type TlsIdentity } from "./helpers/tls-mqtt-client.js";
import { revokeEntity } from "../../pki/revoke.js";
import { openssl } from "../../pki/openssl.js";

let pki: TestFleetPki;
let production: ProductionBroker;

beforeAll(async () => {
  pki = await createTestFleetPki();
  production = await startProductionBroker(pki);
});

afterAll(async () => {
  await production?.dispose();
  pki?.dispose();
});

async function connects(identity: TlsIdentity): Promise<boolean> {
  const outcome = await tryConnect(production.broker.port, pki.layout.caCert, identity);
  if (outcome.connected) await endAll([outcome.client]);
  return outcome.connected;
}

/** The TLS alert (or other error) that ended the attempt; fails the test if the client got in. */
async function refusal(identity: TlsIdentity): Promise<string> {
  const outcome = await tryConnect(production.broker.port, pki.layout.caCert, identity);
  if (outcome.connected) {
    await endAll([outcome.client]);
    expect.fail("the broker accepted a connection it must refuse");
  }
  return outcome.error;
}

describe("production broker: who may connect", () => {
  it("lets a device with a valid fleet certificate connect (control for the refusals below)", async () => {
    expect(await connects({ cert: pki.deviceA.files.chain, key: pki.deviceA.files.key })).toBe(true);
  });

  it("presents its certificate with the CA chain, which Moddable's verifier needs to reach the pinned CA", async () => {
    // Moddable (ssl_cert.js) matches a registered CA only through the AKI of the chain's last
    // certificate: a broker sending its leaf alone would be unverifiable on the device
    const output = (
      await openssl(
        ["s_client", "-connect", `127.0.0.1:${production.broker.port}`, "-showcerts", "-CAfile", pki.layout.caCert, "-cert", pki.deviceA.files.cert, "-key", pki.deviceA.files.key],
        { input: "" },
      )
    ).toString("utf8");
    const sent = output.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    expect(sent.map((pem) => new X509Certificate(pem).subject)).toEqual([
      new X509Certificate(readFileSync(pki.broker.files.cert)).subject,
      new X509Certificate(readFileSync(pki.layout.caCert)).subject,
    ]);
    expect(output).toMatch(/Verify return code: 0 \(ok\)/);
  });

  it("refuses plain MQTT on the listener: there is no clear-text way in", async () => {
    const outcome = await tryConnect(production.broker.port, pki.layout.caCert, {}, { protocol: "mqtt" });
    if (outcome.connected) {
      await endAll([outcome.client]);
      expect.fail("the broker accepted plain MQTT");
    }
  });

  it("has no other active listener than the TLS one, and the optional plain one is loopback-only", () => {
    const lines = readFileSync(PRODUCTION_CONFIG_PATH, "utf8").split("\n");
    expect(lines.filter((line) => /^\s*listener\s/.test(line))).toEqual(["listener 8883"]);
    const optional = lines.filter((line) => /^\s*#\s*listener\s/.test(line));
    expect(optional.length).toBeGreaterThan(0);
    for (const line of optional) expect(line).toMatch(/127\.0\.0\.1/);
  });

  it("refuses a client without a certificate", async () => {
    expect(await refusal({})).toMatch(/certificate required|handshake failure/i);
  });

  it("refuses a certificate from another CA, even with a legitimate device's CN", async () => {
    expect(pki.rogue.commonName).toBe(pki.deviceA.commonName);
    expect(await refusal({ cert: pki.rogue.files.chain, key: pki.rogue.files.key })).toMatch(/unknown ca/i);
  });

  it("refuses an expired certificate", async () => {
    expect(pki.expired.notAfter.getTime()).toBeLessThan(Date.now());
    expect(await refusal({ cert: pki.expired.files.cert, key: pki.expired.files.key })).toMatch(/certificate expired/i);
  });

  it("refuses a revoked certificate (CRL)", async () => {
    expect(await refusal({ cert: pki.revoked.cert, key: pki.revoked.key })).toMatch(/certificate revoked/i);
  });

  it("refuses a server certificate of the fleet CA used as a client identity", async () => {
    // the ingest service's certificate has serverAuth only: it must not become MQTT user "ingest"
    expect(await refusal({ cert: pki.ingest.files.chain, key: pki.ingest.files.key })).toMatch(/unsupported certificate/i);
  });

  it("shuts out a device revoked in service once the broker has the new CRL, and only that device", async () => {
    const deviceB = { cert: pki.deviceB.files.chain, key: pki.deviceB.files.key };
    expect(await connects(deviceB)).toBe(true);
    const revoked = await revokeEntity(pki.layout, "device", "dev-b", "keyCompromise");
    await production.reloadCrl(revoked.crlPath);
    expect(await refusal(deviceB)).toMatch(/certificate revoked/i);
    expect(await connects({ cert: pki.deviceA.files.chain, key: pki.deviceA.files.key })).toBe(true);
  });
});
