// Remote config on the device (firmware/config/device-config.ts). Guards against: a config with one
// bad or unknown field being partly applied, an older or repeated config undoing a newer one, flash
// written when nothing changed, a damaged stored config bricking the boot, and (issue 20) "clear"
// resting on an empty payload: the tombstone resets to build defaults, an empty payload changes nothing.
import { describe, expect, it } from "vitest";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { sampleConfig } from "../../protocol/examples.js";
import { configReset } from "../../protocol/messages.js";
import { BUILD_DEFAULTS, ConfigKeeper, PREFERENCE_CONFIG_KEY, PREFERENCE_DOMAIN, type PreferenceStore } from "../../firmware/config/device-config.js";

class MemoryPreferences implements PreferenceStore {
  readonly values = new Map<string, string | boolean | number | ArrayBuffer>();
  writes = 0;
  get(domain: string, key: string) {
    return this.values.get(`${domain}/${key}`);
  }
  set(domain: string, key: string, value: string | boolean | number | ArrayBuffer) {
    this.writes++;
    this.values.set(`${domain}/${key}`, value);
  }
  delete(domain: string, key: string) {
    this.values.delete(`${domain}/${key}`);
  }
}

const encode = (value: unknown) => Uint8Array.from(cborEncoder.encode(value));

describe("device config", () => {
  it("applies a valid config over the build defaults and persists it once", () => {
    const preferences = new MemoryPreferences();
    const keeper = new ConfigKeeper(preferences);
    const outcome = keeper.receive(encode({ v: 1, cv: 4, r: 1600, tw: 280, ta: 450, hb: 30 }));
    expect(outcome.kind).toBe("applied");
    expect(preferences.writes).toBe(0); // persisted only once the app applied it
    keeper.commit();
    expect(keeper.current).toMatchObject({ cv: 4, sampleRateHz: 1600, velocityWarnMmS: 2.8, velocityAlarmMmS: 4.5, heartbeatS: 30, windowSamples: BUILD_DEFAULTS.windowSamples });
    expect(preferences.writes).toBe(1);
    // the broker re-delivers the retained config after every reconnect: no change, no write
    expect(keeper.receive(encode({ v: 1, cv: 4, r: 1600, tw: 280, ta: 450, hb: 30 })).kind).toBe("same");
    expect(preferences.writes).toBe(1);
    expect(new ConfigKeeper(preferences).current).toEqual(keeper.current);
  });

  it("accepts the protocol's example config", () => {
    expect(new ConfigKeeper(new MemoryPreferences()).receive(encode(sampleConfig)).kind).toBe("applied");
  });

  const invalid: [string, unknown, string][] = [
    ["unknown field", { v: 1, cv: 5, r: 1600, zz: 1 }, "zz: unknown field"],
    ["rate out of range", { v: 1, cv: 5, r: 99999 }, "r:"],
    ["range not a part range", { v: 1, cv: 5, g: 3 }, "g:"],
    ["window not a power of two", { v: 1, cv: 5, w: 1000 }, "w:"],
    ["hop longer than the window", { v: 1, cv: 5, w: 512, h: 1024 }, "h:"],
    ["machine class", { v: 1, cv: 5, mc: "3x" }, "mc:"],
    ["warning above alarm", { v: 1, cv: 5, tw: 500, ta: 400 }, "tw:"],
    ["negative threshold", { v: 1, cv: 5, tn: -1 }, "tn:"],
    ["heartbeat zero", { v: 1, cv: 5, hb: 0 }, "hb:"],
    ["baseline mean without sd", { v: 1, cv: 5, bm: [1, 2] }, "bs:"],
    ["baseline lengths differ", { v: 1, cv: 5, bm: [1, 2], bs: [1] }, "bs:"],
    ["negative sd", { v: 1, cv: 5, bm: [1], bs: [-1] }, "bs:"],
    ["wrong payload version", { v: 2, cv: 5 }, "v:"],
    ["no config version", { v: 1, r: 1600 }, "cv:"],
    ["fractional rate", { v: 1, cv: 5, r: 1600.5 }, "r:"],
    ["not a map", [1, 2, 3], "expected a map"],
  ];

  for (const [name, value, error] of invalid) {
    it(`rejects a config as a whole (${name}), keeps the one in force and its stored copy`, () => {
      const preferences = new MemoryPreferences();
      const keeper = new ConfigKeeper(preferences);
      keeper.receive(encode({ v: 1, cv: 4, r: 1600 }));
      keeper.commit();
      const before = { ...keeper.current };
      const outcome = keeper.receive(encode(value));
      expect(outcome.kind).toBe("rejected");
      expect(outcome.kind === "rejected" && outcome.error).toContain(error);
      expect(keeper.current).toEqual(before);
      expect(keeper.lastError).toContain(error);
      expect(keeper.counters.rejected).toBe(1);
      expect(preferences.writes).toBe(1);
    });
  }

  it("rejects bytes that are not CBOR, or too large, with a decoder error", () => {
    const keeper = new ConfigKeeper(new MemoryPreferences());
    const notCbor = keeper.receive(Uint8Array.from([0xff, 0x00]));
    expect(notCbor.kind === "rejected" && notCbor.error).toMatch(/^cbor at byte 0/);
    const huge = keeper.receive(new Uint8Array(5000));
    expect(huge.kind === "rejected" && huge.error).toContain("exceeds");
    expect(keeper.current).toEqual(BUILD_DEFAULTS);
  });

  it("refuses an older config version than the one in force", () => {
    const keeper = new ConfigKeeper(new MemoryPreferences());
    keeper.receive(encode({ v: 1, cv: 7, r: 1600 }));
    const outcome = keeper.receive(encode({ v: 1, cv: 6, r: 800 }));
    expect(outcome.kind === "rejected" && outcome.error).toContain("older");
    expect(keeper.current.sampleRateHz).toBe(1600);
  });

  it("rolls back a config the hardware could not apply: previous config in force, nothing stored", () => {
    const preferences = new MemoryPreferences();
    const keeper = new ConfigKeeper(preferences);
    keeper.receive(encode({ v: 1, cv: 4, r: 1600 }));
    keeper.commit();
    expect(keeper.receive(encode({ v: 1, cv: 5, r: 800 })).kind).toBe("applied");
    const restored = keeper.rollback("apply: sensor refused");
    expect(restored.cv).toBe(4);
    expect(keeper.current.sampleRateHz).toBe(1600);
    expect(keeper.lastError).toBe("apply: sensor refused");
    expect(preferences.writes).toBe(1);
    // the same config again is a new attempt, not "same"
    expect(keeper.receive(encode({ v: 1, cv: 5, r: 800 })).kind).toBe("applied");
  });

  it("resets to build defaults on the tombstone, persists it, and keeps it across a reboot", () => {
    const preferences = new MemoryPreferences();
    const keeper = new ConfigKeeper(preferences);
    keeper.receive(encode({ v: 1, cv: 4, r: 1600, tw: 280, ta: 450, hb: 30 }));
    keeper.commit();
    const outcome = keeper.receive(encode(configReset(5)));
    expect(outcome.kind).toBe("applied");
    keeper.commit();
    expect(keeper.current).toEqual({ ...BUILD_DEFAULTS, cv: 5 });
    expect(preferences.writes).toBe(2);
    expect(new Uint8Array(preferences.get(PREFERENCE_DOMAIN, PREFERENCE_CONFIG_KEY) as ArrayBuffer)).toEqual(encode({ v: 1, cv: 5, reset: true }));
    expect(new ConfigKeeper(preferences).current).toEqual({ ...BUILD_DEFAULTS, cv: 5 });
    // re-delivered after a reconnect: no change, no write; the next config applies over the defaults
    expect(keeper.receive(encode(configReset(5))).kind).toBe("same");
    expect(keeper.receive(encode({ v: 1, cv: 6, r: 800 })).kind).toBe("applied");
    expect(keeper.current).toMatchObject({ cv: 6, sampleRateHz: 800, velocityWarnMmS: 0 });
  });

  it("refuses a stale tombstone (older cv) like any older config", () => {
    const keeper = new ConfigKeeper(new MemoryPreferences());
    keeper.receive(encode({ v: 1, cv: 7, r: 1600 }));
    const outcome = keeper.receive(encode(configReset(6)));
    expect(outcome.kind === "rejected" && outcome.error).toContain("older");
    expect(keeper.current.sampleRateHz).toBe(1600);
  });

  const badResets: [string, unknown, string][] = [
    ["a setting beside reset", { v: 1, cv: 5, reset: true, r: 1600 }, "r: not allowed beside reset"],
    ["reset false", { v: 1, cv: 5, reset: false }, "reset: want true"],
    ["reset as a number", { v: 1, cv: 5, reset: 1 }, "reset: want true"],
    ["reset without cv", { v: 1, reset: true }, "cv:"],
  ];
  for (const [name, value, error] of badResets) {
    it(`rejects a malformed tombstone (${name}) and changes nothing`, () => {
      const preferences = new MemoryPreferences();
      const keeper = new ConfigKeeper(preferences);
      keeper.receive(encode({ v: 1, cv: 4, r: 1600 }));
      keeper.commit();
      const outcome = keeper.receive(encode(value));
      expect(outcome.kind === "rejected" && outcome.error).toContain(error);
      expect(keeper.current).toMatchObject({ cv: 4, sampleRateHz: 1600 });
      expect(preferences.writes).toBe(1);
    });
  }

  it("changes nothing on an empty payload (the broker deleted the retained config)", () => {
    const preferences = new MemoryPreferences();
    const keeper = new ConfigKeeper(preferences);
    keeper.receive(encode({ v: 1, cv: 4, r: 1600 }));
    keeper.commit();
    const before = { ...keeper.current };
    expect(keeper.receive(new Uint8Array(0)).kind).toBe("same");
    expect(keeper.current).toEqual(before);
    expect(keeper.lastError).toBeUndefined();
    expect(preferences.writes).toBe(1);
  });

  it("boots on build defaults when the stored config is damaged, and counts it", () => {
    const preferences = new MemoryPreferences();
    preferences.set(PREFERENCE_DOMAIN, PREFERENCE_CONFIG_KEY, Uint8Array.from([0xa1, 0x61]).buffer);
    const keeper = new ConfigKeeper(preferences);
    expect(keeper.current).toEqual(BUILD_DEFAULTS);
    expect(keeper.counters.storedInvalid).toBe(1);
  });
});
