// The nesting bound for JSON bodies, checked before JSON.parse: a deeply nested body parses, but
// every later recursive step (the envelope check building its error message, logging) then runs
// out of stack (RangeError -> 500, which a gateway retries forever). CBOR bodies have the same
// bound in their decoder (decodeCbor maxDepth).
import { ContractError, ContractErrorCode } from "../../protocol/errors.js";

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Throws VW_TOO_DEEP when arrays and objects nest deeper than `maxDepth` (outside strings); one linear scan, no allocation. */
export function checkJsonDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === BACKSLASH) index += 1;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (char === OPEN_ARRAY || char === OPEN_OBJECT) {
      depth += 1;
      if (depth > maxDepth) throw new ContractError(ContractErrorCode.TooDeep, "", `JSON nested deeper than ${maxDepth} (at character ${index})`);
    } else if (char === CLOSE_ARRAY || char === CLOSE_OBJECT) {
      depth -= 1;
    }
  }
}
