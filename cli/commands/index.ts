// Every `vibewatch` command, in the order `--help` lists them. Add one line per command.
import type { Command } from "../command.js";
import { contractCommand } from "./contract.js";
import { replayCommand } from "./replay.js";
import { ingestCommand } from "./ingest.js";
import { gatewayCommand } from "./gateway.js";
import { pkiCommand } from "./pki.js";
import { simCommand } from "./sim.js";
import { auditCommand } from "./audit.js";
import { demoCommand } from "./demo.js";
import { releaseCommand } from "./release.js";
import { otaCommand } from "./ota.js";
import { fleetCommand } from "./fleet.js";
import { quarantineCommand } from "./quarantine.js";

export const commands: Command[] = [
  demoCommand,
  contractCommand,
  replayCommand,
  ingestCommand,
  gatewayCommand,
  pkiCommand,
  simCommand,
  auditCommand,
  releaseCommand,
  otaCommand,
  fleetCommand,
  quarantineCommand,
];
