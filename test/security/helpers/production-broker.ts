// Starts a real Mosquitto from manifests/mosquitto/mosquitto.conf, the production file itself:
// only the listener port and the file locations are substituted, and every substitution must
// find its target, so a change to the production file cannot silently escape the tests.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto, type MosquittoHandle } from "../../helpers/services.js";
import { anyTestFailed } from "../../helpers/failure-flag.js";
import { gatewayAclBlock } from "../../../pki/acl-snippet.js";
import { GATEWAY_ID, SITE, type TestFleetPki } from "./test-fleet-pki.js";

const repoRoot = new URL("../../../", import.meta.url).pathname;
export const PRODUCTION_CONFIG_PATH = join(repoRoot, "manifests/mosquitto/mosquitto.conf");
export const PRODUCTION_ACL_PATH = join(repoRoot, "manifests/mosquitto/acl");

const PRODUCTION_FILES_DIR = "/etc/mosquitto/vibewatch/";

/** The production config with test locations; {{PORT}} and {{DIR}} are filled in by startMosquitto. */
export function adaptProductionConfig(productionText: string, filesDir: string): string {
  const substitutions: Array<[string, string]> = [
    // loopback only in tests; the production listener binds every interface
    ["\nlistener 8883\n", "\nlistener {{PORT}} 127.0.0.1\n"],
    [PRODUCTION_FILES_DIR, `${filesDir}/`],
    // startMosquitto appends its own persistence_location ({{DIR}}); Mosquitto refuses a duplicate
    ["persistence_location /var/lib/mosquitto/", "# persistence_location: {{DIR}}/, set by startMosquitto"],
    // likewise its own log file (broker.log())
    ["log_dest file /var/log/mosquitto/mosquitto.log", "# log_dest file: {{DIR}}/mosquitto.log, set by startMosquitto"],
  ];
  let text = productionText;
  for (const [from, to] of substitutions) {
    if (!text.includes(from)) throw new Error(`manifests/mosquitto/mosquitto.conf no longer contains "${from.trim()}": update the security tests`);
    text = text.replaceAll(from, to);
  }
  return text;
}

export interface ProductionBroker {
  broker: MosquittoHandle;
  filesDir: string;
  log(): string;
  /** copies a new CRL into place and restarts the broker (Mosquitto reads crlfile at start-up) */
  reloadCrl(crlPath: string): Promise<void>;
  dispose(): Promise<void>;
}

export async function startProductionBroker(pki: TestFleetPki): Promise<ProductionBroker> {
  const filesDir = mkdtempSync(join(tmpdir(), "vw-test-broker-files-"));
  copyFileSync(pki.layout.caCert, join(filesDir, "ca.crt"));
  copyFileSync(pki.broker.files.chain, join(filesDir, "broker.crt"));
  copyFileSync(pki.broker.files.key, join(filesDir, "broker.key"));
  copyFileSync(pki.layout.crl, join(filesDir, "crl.pem"));
  // the production ACL plus the block `pki issue-gateway` prints for the test gateway
  writeFileSync(join(filesDir, "acl"), `${readFileSync(PRODUCTION_ACL_PATH, "utf8")}\n${gatewayAclBlock(GATEWAY_ID, SITE)}`);
  const config = adaptProductionConfig(readFileSync(PRODUCTION_CONFIG_PATH, "utf8"), filesDir);
  const broker = await startMosquitto({ config });
  return {
    broker,
    filesDir,
    log: () => broker.log(),
    async reloadCrl(crlPath) {
      copyFileSync(crlPath, join(filesDir, "crl.pem"));
      await broker.restart();
    },
    async dispose() {
      await broker.dispose();
      if (!anyTestFailed()) rmSync(filesDir, { recursive: true, force: true });
    },
  };
}
