// The reading record kind at the cloud's boundary, register decoding and JSON mapping, as pure
// functions: what a PLC's words become, what a JSON message becomes or why it is refused, and
// which readings the cloud refuses (and why) before any storage.
import { expect, it } from "vitest";
import { validateRecord } from "../../protocol/schema/validate.js";
import { ContractError } from "../../protocol/errors.js";
import { recordToLine } from "../../cloud/storage/line-protocol.js";
import { pointKeyOf } from "../../cloud/storage/point-schema.js";
import { decodeValue, planBlocks, rawValue } from "../../gateway/sources/modbus/register-decoding.js";
import type { RegisterConfig } from "../../gateway/sources/modbus/modbus-config.js";
import { JsonMapper, topicMatches } from "../../gateway/sources/json-mqtt/json-mapping.js";
import { Value } from "@sinclair/typebox/value";
import { JsonMqttSourceSchema } from "../../gateway/sources/json-mqtt/json-mqtt-config.js";

const T = 1_764_331_200_000_000;
const reading = (p: Record<string, unknown>) => ({ id: 1, ts: T, k: "read", d: "plc-1", p: { v: 1, d: "plc-1", b: 5, s: 0, t: T + 7, x: 0, m: "plc", f: { motor_current_a: 12.5 }, ...p } });
const refusal = (value: unknown): string => {
  try {
    validateRecord(value, 0);
  } catch (error) {
    if (error instanceof ContractError) return `${error.code} ${error.message}`;
    throw error;
  }
  return "accepted";
};

it("accepts a reading and refuses bad ones with the field named", () => {
  expect(refusal(reading({}))).toBe("accepted");
  expect(refusal(reading({ m: "vw_tele" }))).toMatch(/^VW_SCHEMA \/recs\/0\/p\/m: .*vibewatch's own/);
  expect(refusal(reading({ f: { seq: 1 } }))).toMatch(/^VW_SCHEMA \/recs\/0\/p\/f\/seq: field name "seq" is reserved/);
  expect(refusal(reading({ f: { a: 1 }, i: { a: 2 } }))).toMatch(/\/recs\/0\/p\/i\/a: field "a" appears with two types/);
  expect(refusal(reading({ f: {} }))).toMatch(/needs at least one field/);
  expect(refusal(reading({ g: { source: "x" } }))).toMatch(/\/recs\/0\/p\/g\/source: tag "source" is reserved/);
  expect(refusal(reading({ g: { line: "a\\b" } }))).toMatch(/^VW_SCHEMA \/recs\/0\/p\/g\/line/);
  expect(refusal(reading({ d: "plc-2" }))).toMatch(/^VW_DEVICE_MISMATCH/);
  expect(refusal(reading({ i: { n: 1.5 } }))).toMatch(/^VW_SCHEMA \/recs\/0\/p\/i\/n/);
});

it("becomes a point in its own measurement, tagged with site, gateway, source and its tags, at its own time", () => {
  const record = validateRecord(reading({ g: { line: "line 2" }, i: { speed_rpm: 1480 }, o: { running: true }, x: 3 }), 0);
  expect(recordToLine(record, "plant-1", "gw-1")).toBe(`plc,gateway=gw-1,line=line\\ 2,site=plant-1,source=plc-1 motor_current_a=12.5,speed_rpm=1480i,running=true,seq=0i,boot=5i,gaps=3i,rid=1i ${T + 7}`);
  // two readings of one source at one time and tag set are one storage point
  expect(pointKeyOf(record)).toBe(pointKeyOf(validateRecord({ ...reading({ g: { line: "line 2" } }), id: 2 }, 0)));
  expect(pointKeyOf(record)).not.toBe(pointKeyOf(validateRecord(reading({ g: { line: "line 3" } }), 0)));
});

const register = (r: Partial<RegisterConfig>): RegisterConfig => ({ field: "v", area: "holding", address: 0, type: "uint16", wordOrder: "big", scale: 1, offset: 0, output: "float", ...r });

it("decodes registers with their type, word order, scale and offset", () => {
  expect(rawValue(register({ type: "int16" }), [0xff85])).toBe(-123);
  expect(rawValue(register({ type: "uint16" }), [0xff85])).toBe(65413);
  expect(rawValue(register({ type: "float32" }), [0x4148, 0x0000])).toBe(12.5);
  expect(rawValue(register({ type: "float32", wordOrder: "little" }), [0x0000, 0x4148])).toBe(12.5);
  expect(rawValue(register({ type: "uint32", wordOrder: "little" }), [0x1170, 0x0001])).toBe(70000);
  expect(rawValue(register({ type: "int32" }), [0xfffe, 0xee90])).toBe(-70000);
  expect(decodeValue(register({ type: "int16", scale: 0.5, offset: -10, output: "int" }), [8])).toEqual({ kind: "int", value: -6 });
  expect(decodeValue(register({ type: "float32" }), [0x7fc0, 0x0000])).toBeNull(); // NaN: left out, not stored as a number
  expect(decodeValue(register({ area: "coil", type: "bool" }), [1])).toEqual({ kind: "bool", value: true });
});

it("merges contiguous registers of one area into one request", () => {
  expect(planBlocks([register({ address: 0, type: "float32" }), register({ address: 2 }), register({ address: 10 }), register({ area: "coil", type: "bool", address: 3 })])).toEqual([
    { area: "holding", address: 0, length: 3 },
    { area: "holding", address: 10, length: 1 },
    { area: "coil", address: 3, length: 1 },
  ]);
});

it("maps JSON messages by topic and path, and names what does not fit", () => {
  const config = Value.Default(JsonMqttSourceSchema, {
    type: "json-mqtt",
    name: "s",
    mappings: [{ topic: "factory/+/temp", measurement: "env", topicTags: { machine: 1 }, fields: [{ field: "temp_c", path: "$.temp" }, { field: "ok", path: "$.flags[1]", type: "bool", required: false }], time: { path: "$.ts", unit: "ms" } }],
  }) as never;
  const mapper = new JsonMapper(config);
  const bytes = (text: string) => new TextEncoder().encode(text);
  expect(mapper.map("factory/m1/temp", bytes('{"temp":72.4,"ts":1680000000123,"flags":[false,true]}'), 0)).toEqual({
    timeUs: 1680000000123000,
    values: { measurement: "env", tags: { machine: "m1" }, floats: { temp_c: 72.4 }, ints: {}, bools: { ok: true } },
  });
  const refused = (topic: string, text: string) => {
    try {
      mapper.map(topic, bytes(text), 0);
      return "mapped";
    } catch (error) {
      return `${(error as { code: string }).code}: ${(error as Error).message}`;
    }
  };
  expect(refused("factory/m1/temp", '{"temp":72.4,')).toMatch(/^VW_NOT_JSON: not JSON: /);
  expect(refused("factory/m1/temp", '{"temp":"hot","ts":1680000000123}')).toBe('VW_MAPPING: $.temp (field temp_c): want a number, got "hot"');
  expect(refused("factory/m1/temp", '{"temp":1}')).toBe("VW_MAPPING: $.ts (time): undefined is not a time in ms since the epoch between 2001 and 2100");
  expect(refused("other/m1/temp", "{}")).toMatch(/^VW_NO_MAPPING/);
  expect(topicMatches(["a", "#"], ["a", "b", "c"])).toBe(true);
  expect(topicMatches(["a", "+"], ["a", "b", "c"])).toBe(false);
});

it("lands in the embedded store (no InfluxDB) with its tags in the key, and the source audit reads it back", async () => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { EmbeddedStore } = await import("../../cloud/storage/embedded-store.js");
  const { readEmbeddedSourceRows, auditSources } = await import("../../cloud/audit/source-audit.js");
  const path = join(mkdtempSync(join(tmpdir(), "vw-reading-store-")), "store.db");
  const store = new EmbeddedStore({ path });
  // two machines at one time: two points; slot 1 of boot 5 is a gap the source counted
  const records = [
    validateRecord(reading({ g: { machine: "m1" } }), 0),
    validateRecord({ ...reading({ g: { machine: "m2" }, s: 2, x: 1 }), id: 2 }, 0),
    validateRecord({ ...reading({ b: 0, s: 17, t: T + 9 }), id: 3 }, 0),
  ];
  await store.write(records.map((record) => ({ record, site: "plant-1", gateway: "gw-1" })));
  expect(store.readPoints("plc").map((p) => [p.device, p.timeUs, p.fields.motor_current_a])).toEqual([
    ["plc-1,machine=m1", T + 7, 12.5],
    ["plc-1,machine=m2", T + 7, 12.5],
    ["plc-1", T + 9, 12.5],
  ]);
  await store.close();
  const { report, replayed } = auditSources(readEmbeddedSourceRows(path));
  expect(report.boots).toMatchObject([{ device: "plc-1", boot: 5, stored: 2, missing: 1, droppedByDevice: 1, unexplained: 0 }]);
  expect(replayed).toEqual({ "plc-1": 1 });
});
