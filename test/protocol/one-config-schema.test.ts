// Issue 16 point 4: the device-config rules existed twice (protocol/schema/device-schema.ts for the
// gateway and the cloud, firmware/config/device-config.ts on the device) and the cross-field rules
// only on the device, so the cloud could accept a config every device refuses (a hop longer than
// the window, a warning above the alarm, a baseline mean without its deviations, a window that is
// not a power of two). Now one field table (protocol/config-fields.ts) drives both. This feeds the
// same random configs to the device's decision, in the real XS engine, and to the gateway/cloud
// validator in Node, and demands the same verdict.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { bundleFirmware } from "../../simulator/bundle-firmware.js";
import { startXsWorker, type XsWorker } from "../../simulator/xs-worker.js";
import { cborEncoder, decodeCbor, validateDevicePayload } from "../../protocol/schema/validate.js";
import { CONFIG_FIELDS } from "../../protocol/config-fields.js";

/** mostly a value inside a field's range, else one at or beyond an edge, or of the wrong type */
function around(min: number, max: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min, max }) },
    { weight: 2, arbitrary: fc.constantFrom(min, max, min - 1, max + 1) },
    { weight: 1, arbitrary: fc.constantFrom(min + 0.5, "1", null, true) },
  );
}

const numbers = (min: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.double({ min: Math.max(min, -1e6), max: 1e6, noNaN: true }), { maxLength: 16 }) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(min - 1, min, Number.NaN, Number.POSITIVE_INFINITY, 3), { maxLength: 18 }) },
  );

const field: Record<string, fc.Arbitrary<unknown>> = {
  r: around(CONFIG_FIELDS.r.min, CONFIG_FIELDS.r.max),
  g: fc.constantFrom(2, 4, 8, 16, 2, 4, 3, 32, "4"),
  w: fc.constantFrom(256, 512, 1024, 2048, 4096, 128, 1000, 8192),
  h: fc.oneof(fc.constantFrom(16, 256, 512, 1024, 2048, 4096, 15, 4097), around(16, 4096)),
  mc: fc.constantFrom("1r", "1f", "2r", "2f", "3x", "", 2),
  tw: around(1, 2000),
  ta: around(1, 2000),
  tn: around(1, CONFIG_FIELDS.tn.max),
  hb: around(1, 86_400),
  lw: around(0, 100_000),
  bm: numbers(-1e6),
  bs: numbers(0),
  reset: fc.constantFrom(true, true, false, 1),
  zz: fc.constant(1),
};
const weights: Record<string, number> = { reset: 1, zz: 1 };

const config = fc
  .record({
    v: fc.constantFrom(1, 1, 1, 1, 1, 1, 2),
    cv: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 2 ** 32 - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 2 ** 32, 1.5) }),
    keys: fc.subarray(Object.keys(field).flatMap((key) => Array(weights[key] ?? 3).fill(key) as string[]), { maxLength: 6 }),
  })
  .chain(({ v, cv, keys }) =>
    fc.tuple(...[...new Set(keys)].map((key) => field[key]!.map((value) => [key, value] as const))).map((pairs) => ({ v, cv, ...Object.fromEntries(pairs) })),
  );

function gatewayAccepts(bytes: Uint8Array): boolean {
  try {
    validateDevicePayload("cfg", decodeCbor(bytes));
    return true;
  } catch {
    return false;
  }
}

describe("one config schema for the device, the gateway and the cloud", () => {
  let xs: XsWorker;
  beforeAll(async () => {
    xs = await startXsWorker({ name: "config-check" });
    await xs.evaluate(await bundleFirmware("test/protocol/xs-config-check-entry.ts"));
  });
  afterAll(async () => {
    await xs?.close();
  });

  it("gives every config the same verdict on the device (XS) as on the gateway and in the cloud", async () => {
    const samples = fc.sample(config, { numRuns: 1500, seed: 16 });
    const encoded = samples.map((value) => Uint8Array.from(cborEncoder.encode(value)));
    const { value: device } = await xs.call<{ accepted: boolean; error?: string }[]>("receive", { inputs: encoded.map((bytes) => Array.from(bytes)) });
    const disagreements = encoded
      .map((bytes, index) => ({ config: samples[index], device: device[index], gateway: gatewayAccepts(bytes) }))
      .filter((row) => row.device?.accepted !== row.gateway);
    expect(disagreements.slice(0, 5)).toEqual([]);
    // the sample exercises both verdicts, not one
    const accepted = device.filter((row) => row.accepted).length;
    expect(accepted).toBeGreaterThan(100);
    expect(encoded.length - accepted).toBeGreaterThan(100);
  });

  const crossField: [string, Record<string, unknown>, string][] = [
    ["a hop longer than the window", { v: 1, cv: 3, w: 512, h: 1024 }, "/h"],
    ["a warning above the alarm", { v: 1, cv: 3, tw: 500, ta: 400 }, "/tw"],
    ["a baseline mean without its deviations", { v: 1, cv: 3, bm: [1, 2] }, "/bs"],
    ["baseline lists of different lengths", { v: 1, cv: 3, bm: [1, 2], bs: [1] }, "/bs"],
    ["a window that is not a power of two", { v: 1, cv: 3, w: 1000 }, "/w"],
  ];
  for (const [name, value, path] of crossField) {
    it(`refuses ${name} at the gateway and in the cloud, naming the field`, () => {
      expect(() => validateDevicePayload("cfg", value)).toThrow(expect.objectContaining({ field: path }));
    });
  }
});
