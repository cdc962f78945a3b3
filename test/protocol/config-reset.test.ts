// The config tombstone (issue 20): "clear" is an explicit {v, cv, reset: true}, never an empty
// payload. Guards against: a gateway or cloud check that refuses the tombstone, one that lets a
// setting ride along with it (the device would ignore it silently), and README bytes that drift
// from what the encoder produces.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ContractError, ContractErrorCode } from "../../protocol/errors.js";
import { encodeCbor, type CborValue } from "../../protocol/cbor-encoder.js";
import { cborEncoder, decodeDeviceMessage } from "../../protocol/schema/validate.js";
import { configReset } from "../../protocol/messages.js";

const encode = (value: unknown) => encodeCbor(value as CborValue);

function rejection(run: () => unknown): ContractError {
  try {
    run();
  } catch (error) {
    if (error instanceof ContractError) return error;
    throw new Error(`expected a ContractError, got ${String(error)}`);
  }
  throw new Error("expected a rejection, but the input was accepted");
}

describe("config tombstone", () => {
  it("is a valid cfg payload", () => {
    expect(configReset(5)).toEqual({ v: 1, cv: 5, reset: true });
    expect(decodeDeviceMessage("cfg", encode(configReset(5))).payload).toEqual({ v: 1, cv: 5, reset: true });
  });

  it("is strict: v and cv only beside reset (the setting is named), reset true, and a cv like any config", () => {
    const error = rejection(() => decodeDeviceMessage("cfg", encode({ ...configReset(5), r: 1600 })));
    expect(error.code).toBe(ContractErrorCode.Schema);
    expect(error.field).toBe("/r");
    expect(error.message).toContain("not allowed beside reset");
    expect(rejection(() => decodeDeviceMessage("cfg", encode({ v: 1, cv: 5, reset: false }))).field).toBe("/reset");
    expect(rejection(() => decodeDeviceMessage("cfg", encode({ v: 1, reset: true }))).field).toBe("/cv");
  });

  it("is shown in protocol/README.md as the encoder writes it", () => {
    const readme = readFileSync(new URL("../../protocol/README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Clearing a config"));
    const hex = /```hex\n([^`]*)```/.exec(section)?.[1]?.trim().split(/\s+/).join(" ");
    const bytes = (value: Uint8Array) => [...value].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
    expect(hex).toBe(bytes(encode(configReset(5))));
    expect(hex).toBe(bytes(Uint8Array.from(cborEncoder.encode(configReset(5)))));
  });
});
