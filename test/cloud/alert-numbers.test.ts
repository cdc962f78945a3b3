// Each alert kind's numbers, from the device's message builder to the stored point (issue 19: zone
// alerts were stored as "value 0.02, limit 0.02" next to their text "vrms 3.15 mm/s: zone C"). The
// stored value and threshold are the quantity that crossed and the limit it crossed, in the kind's
// unit; a zone alert's agree with its own text.
import { describe, expect, it } from "vitest";
import { MessageBuilder } from "../../firmware/app/message-builder.js";
import type { AlertEvent } from "../../firmware/dsp/alert-policy.js";
import { recordToPoint } from "../../cloud/storage/point-schema.js";
import { decodeDeviceMessage } from "../../protocol/schema/validate.js";
import type { Alert, ZoneIndex } from "../../protocol/messages.js";
import { alertRecord, GW, SITE } from "./helpers/ingest-fixture.js";

const stored = (event: AlertEvent, zone: ZoneIndex) => {
  const builder = new MessageBuilder("pump-07", 7, () => 1_764_331_200_000);
  const decoded = decodeDeviceMessage("alert", builder.alert(event, zone), "pump-07").payload as Alert;
  return { decoded, point: recordToPoint({ record: { ...alertRecord("pump-07", decoded.s), p: decoded }, site: SITE, gateway: GW }) };
};

describe("alert numbers, device to storage", () => {
  const cases: { event: AlertEvent; zone: ZoneIndex; unit: string }[] = [
    { event: { kind: "zone", level: 1, value: 3.147, limit: 2.8 }, zone: 2, unit: "mm/s" },
    { event: { kind: "zone", level: 2, value: 7.2, limit: 4.5 }, zone: 3, unit: "mm/s" },
    { event: { kind: "vrms", level: 2, value: 4.5, limit: 2.8 }, zone: 2, unit: "mm/s" },
    { event: { kind: "anomaly", level: 2, value: 6.25, limit: 4 }, zone: 1, unit: "score" },
    { event: { kind: "sensor", level: 2, value: 150.4, limit: 148.1 }, zone: 1, unit: "m/s²" },
  ];
  for (const { event, zone, unit } of cases) {
    it(`${event.kind} level ${event.level}: value and threshold in ${unit}, the zone its own field`, () => {
      const { decoded, point } = stored(event, zone);
      expect(point.measurement).toBe("vw_alert");
      expect(point.fields.kind).toBe(event.kind);
      expect(point.fields.value).toBeCloseTo(event.value, 2);
      expect(point.fields.threshold).toBeCloseTo(event.limit, 2);
      expect(point.fields.zone).toBe(zone);
      expect(point.fields).not.toHaveProperty("limit");
      if (event.kind === "zone") {
        // the text and the numbers say the same
        const [, mmS, letter] = /^vrms (\d+\.\d\d) mm\/s: zone ([A-D])$/.exec(decoded.m!)!;
        expect(Number(mmS)).toBe(point.fields.value);
        expect("ABCD".indexOf(letter!)).toBe(zone);
      }
    });
  }
});
