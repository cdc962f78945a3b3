// A structural pre-check of untrusted CBOR, run before cbor-x decodes it: well-formed heads,
// nothing truncated, nesting within a limit, and declared lengths that fit in the bytes present.
// It lets the gateway say precisely what was wrong (truncated vs not CBOR vs too deep) and keeps
// hostile inputs (a header claiming 2^32 items, 10,000 nested arrays) away from the decoder.
import { ContractError, ContractErrorCode } from "../errors.js";

export interface ScanLimits {
  maxDepth: number;
  maxItems: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxDepth: 8, maxItems: 4096 };

// The scan's state lives in module variables rather than in closures made per call: the gateway
// scans every MQTT message, and three closures per call cost more than scanning a telemetry
// payload. The scan is synchronous and never re-entered, so one set of variables serves all calls.
const EMPTY = new Uint8Array(0);
let input: Uint8Array = EMPTY;
let position = 0;
let items = 0;
let maxDepth = 0;
let maxItems = 0;

/** Throws ContractError unless `bytes` holds exactly one well-formed CBOR item within the limits. */
export function scanCbor(bytes: Uint8Array, limits: ScanLimits = DEFAULT_SCAN_LIMITS): void {
  if (bytes.length === 0) throw new ContractError(ContractErrorCode.Truncated, "", "empty message");
  input = bytes;
  position = 0;
  items = 0;
  maxDepth = limits.maxDepth;
  maxItems = limits.maxItems;
  try {
    scanItem(0);
    if (position !== bytes.length) {
      throw new ContractError(ContractErrorCode.NotCbor, "", `not CBOR: ${bytes.length - position} byte(s) after the first item`);
    }
  } finally {
    input = EMPTY; // keep no reference to the caller's bytes
  }
}

function need(count: number): void {
  if (position + count > input.length) {
    throw new ContractError(ContractErrorCode.Truncated, "", `truncated CBOR: need ${count} more byte(s) at offset ${position}`);
  }
}

function readArgument(info: number): number {
  if (info < 24) return info;
  // bytes of the argument after the initial byte, by additional info 24..27 (a shift, not a
  // table lookup: the gateway scans every message, the ingest service batches of 5,000 records)
  if (info > 27) {
    throw new ContractError(ContractErrorCode.NotCbor, "", `not CBOR: unsupported additional info ${info} at offset ${position - 1}`);
  }
  const size = 1 << (info - 24);
  need(size);
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + (input[position + i] as number);
  position += size;
  return value;
}

function scanItem(depth: number): void {
  if (depth > maxDepth) {
    throw new ContractError(ContractErrorCode.TooDeep, "", `CBOR nested deeper than ${maxDepth}`);
  }
  if (++items > maxItems) {
    throw new ContractError(ContractErrorCode.Oversize, "", `more than ${maxItems} CBOR items`);
  }
  need(1);
  const initial = input[position++] as number;
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (info === 31) {
    throw new ContractError(ContractErrorCode.NotCbor, "", `indefinite-length CBOR is not accepted (offset ${position - 1})`);
  }
  const argument = readArgument(info);
  switch (major) {
    case 0:
    case 1:
      return;
    case 2:
    case 3:
      need(argument);
      position += argument;
      return;
    case 4:
      // each element needs at least one byte: reject impossible lengths before looping
      need(argument);
      for (let i = 0; i < argument; i++) scanItem(depth + 1);
      return;
    case 5:
      need(argument * 2);
      for (let i = 0; i < argument * 2; i++) scanItem(depth + 1);
      return;
    case 6:
      scanItem(depth + 1); // tag: one tagged item
      return;
    default: // 7: simple values and floats; the argument was consumed above
      if (info === 24 && argument < 32) {
        throw new ContractError(ContractErrorCode.NotCbor, "", "not CBOR: badly formed simple value");
      }
      return;
  }
}
