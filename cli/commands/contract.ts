// `vibewatch contract`: decodes and validates a device message or a batch file, as the gateway
// and cloud would, and prints it as JSON (or the error naming the field). For debugging devices.
import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError } from "../command.js";
import { decodeCbor, validateBatchEnvelope, validateDevicePayload, validateRecord } from "../../protocol/schema/validate.js";
import { ContractError } from "../../protocol/errors.js";
import { MAX_BATCH_RECORDS } from "../../protocol/limits.js";

const kinds = ["tele", "alert", "status", "cfg", "batch"] as const;
type Kind = (typeof kinds)[number];

const help = `Usage: vibewatch contract --kind <${kinds.join("|")}> [--device <id>] <file.cbor>

Decodes a CBOR file (a device payload or a gateway batch) and validates it against the wire
contract exactly as the gateway and the ingest service do. Prints the value as JSON on success;
on failure prints the error code and the field at fault, and exits 1.

Options:
  --kind <kind>     what the file holds (required)
  --device <id>     the device id of the topic it came on (device payloads only)
  -h, --help        this text`;

export const contractCommand: Command = {
  name: "contract",
  summary: "decode and validate a CBOR payload or batch against the wire contract",
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { kind: { type: "string" }, device: { type: "string" } }, true);
    if (values.help) {
      console.log(help);
      return 0;
    }
    const kind = values.kind as Kind | undefined;
    if (!kind || !kinds.includes(kind)) throw new UsageError(`--kind must be one of ${kinds.join(", ")}`);
    if (positionals.length !== 1) throw new UsageError("expected exactly one file");
    const bytes = new Uint8Array(readFileSync(positionals[0] as string));
    try {
      if (kind === "batch") {
        const batch = validateBatchEnvelope(decodeCbor(bytes, 64 * 1024 * 1024, { maxDepth: 8, maxItems: MAX_BATCH_RECORDS * 64 }));
        batch.recs.forEach((record, index) => validateRecord(record, index));
        console.log(JSON.stringify(batch, null, 2));
      } else {
        const message = validateDevicePayload(kind, decodeCbor(bytes), values.device);
        console.log(JSON.stringify(message.payload, null, 2));
      }
      return 0;
    } catch (error) {
      if (error instanceof ContractError) {
        console.error(`invalid: ${error.code} ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
