// Flash (NVS) failures in the keepers of firmware/config/, issue 20: on the ESP32 Preference.set and
// .get throw ("nvs set fail", "nvs get fail": the SDK's modPreference.c) and an uncaught exception
// reboots the device. Guards against: a keeper letting such an exception out (the config path, the
// baseline save in the sampler's timer), a refused config taken back instead of kept in force, a
// failure nobody can see (no counter, no error text), and an error that outlives the next good write.
import { describe, expect, it } from "vitest";
import { cborDecoder, cborEncoder } from "../../protocol/schema/validate.js";
import { BUILD_DEFAULTS, ConfigKeeper, PREFERENCE_CONFIG_KEY, PREFERENCE_DOMAIN, type PreferenceStore } from "../../firmware/config/device-config.js";
import { BaselineKeeper, PREFERENCE_BASELINE_KEY } from "../../firmware/config/baseline-store.js";

type Value = string | boolean | number | ArrayBuffer;

/** NVS that fails on demand with the ESP32's own texts (a failed set has erased the key, as there) */
class FlakyFlash implements PreferenceStore {
  readonly values = new Map<string, Value>();
  failSet = false;
  failGet = false;
  writes = 0;
  get(domain: string, key: string) {
    if (this.failGet) throw new Error("nvs get fail");
    return this.values.get(`${domain}/${key}`);
  }
  set(domain: string, key: string, value: Value) {
    if (this.failSet) {
      this.values.delete(`${domain}/${key}`);
      throw new Error("nvs set fail");
    }
    this.writes++;
    this.values.set(`${domain}/${key}`, value);
  }
  delete(domain: string, key: string) {
    if (this.failSet) throw new Error("nvs erase fail");
    this.values.delete(`${domain}/${key}`);
  }
  decoded(key: string): unknown {
    const stored = this.values.get(`${PREFERENCE_DOMAIN}/${key}`);
    return stored instanceof ArrayBuffer ? cborDecoder.decode(new Uint8Array(stored)) : stored;
  }
}

const encode = (value: unknown) => Uint8Array.from(cborEncoder.encode(value));
const baseline = { mean: [1.5, 2.5, 3.5], sd: [0.25, 0.5, 0.75], n: 40 };

describe("ConfigKeeper when flash fails", () => {
  it("keeps a config flash refuses in force, counts and reports it, and saves it once flash works", () => {
    const flash = new FlakyFlash();
    const keeper = new ConfigKeeper(flash);
    flash.failSet = true;
    expect(keeper.receive(encode({ v: 1, cv: 3, r: 1600 })).kind).toBe("applied");
    expect(() => keeper.commit()).not.toThrow();
    expect(keeper.current).toMatchObject({ cv: 3, sampleRateHz: 1600 });
    expect(keeper.counters).toMatchObject({ applied: 1, persistWrites: 0, persistFailures: 1 });
    expect(keeper.flashError).toBe("cfg not saved: nvs set fail");
    expect(keeper.lastError).toBeUndefined(); // the config was not rejected
    expect(flash.decoded(PREFERENCE_CONFIG_KEY)).toBeUndefined();

    // still failing: the heartbeat's retry fails again, counted, nothing thrown
    expect(() => keeper.retryPersist()).not.toThrow();
    expect(keeper.counters.persistFailures).toBe(2);

    flash.failSet = false;
    keeper.retryPersist();
    expect(flash.decoded(PREFERENCE_CONFIG_KEY)).toEqual({ v: 1, cv: 3, r: 1600 });
    expect(keeper.flashError).toBeUndefined();
    expect(keeper.counters).toMatchObject({ persistWrites: 1, persistFailures: 2 });
    // nothing left to retry: no more writes
    keeper.retryPersist();
    expect(flash.writes).toBe(1);
  });

  it("saves a refused config when the broker delivers it again (reconnect)", () => {
    const flash = new FlakyFlash();
    const keeper = new ConfigKeeper(flash);
    flash.failSet = true;
    keeper.receive(encode({ v: 1, cv: 5, hb: 30 }));
    keeper.commit();
    flash.failSet = false;
    expect(keeper.receive(encode({ v: 1, cv: 5, hb: 30 })).kind).toBe("same");
    expect(flash.decoded(PREFERENCE_CONFIG_KEY)).toEqual({ v: 1, cv: 5, hb: 30 });
    expect(keeper.flashError).toBeUndefined();
  });

  it("clears the error with the next config flash takes", () => {
    const flash = new FlakyFlash();
    const keeper = new ConfigKeeper(flash);
    flash.failSet = true;
    keeper.receive(encode({ v: 1, cv: 5, r: 1600 }));
    keeper.commit();
    flash.failSet = false;
    keeper.receive(encode({ v: 1, cv: 6, r: 800 }));
    keeper.commit();
    expect(keeper.flashError).toBeUndefined();
    expect(flash.decoded(PREFERENCE_CONFIG_KEY)).toEqual({ v: 1, cv: 6, r: 800 });
    expect(new ConfigKeeper(flash).current).toMatchObject({ cv: 6, sampleRateHz: 800 });
  });

  it("writes when the comparing read fails but the write works", () => {
    const flash = new FlakyFlash();
    const keeper = new ConfigKeeper(flash);
    flash.failGet = true;
    keeper.receive(encode({ v: 1, cv: 2, g: 8 }));
    keeper.commit();
    expect(keeper.flashError).toBeUndefined();
    expect(keeper.counters.persistFailures).toBe(0);
    flash.failGet = false;
    expect(flash.decoded(PREFERENCE_CONFIG_KEY)).toEqual({ v: 1, cv: 2, g: 8 });
  });

  it("boots on build defaults when the stored config cannot be read, counts it, and says so until a write works", () => {
    const flash = new FlakyFlash();
    flash.set(PREFERENCE_DOMAIN, PREFERENCE_CONFIG_KEY, encode({ v: 1, cv: 9, r: 1600 }).buffer as ArrayBuffer);
    flash.failGet = true;
    let keeper: ConfigKeeper | undefined;
    expect(() => (keeper = new ConfigKeeper(flash))).not.toThrow();
    expect(keeper!.current).toEqual(BUILD_DEFAULTS);
    expect(keeper!.counters).toMatchObject({ loadFailures: 1, storedInvalid: 0 });
    expect(keeper!.flashError).toBe("cfg not read: nvs get fail");
    // the broker's retained config follows the connection; saving it shows flash works again
    keeper!.receive(encode({ v: 1, cv: 9, r: 1600 }));
    keeper!.commit();
    expect(keeper!.flashError).toBeUndefined();
    expect(keeper!.current).toMatchObject({ cv: 9, sampleRateHz: 1600 });
  });
});

describe("BaselineKeeper when flash fails", () => {
  it("does not throw when the write fails, counts it, reports it, and saves on retry", () => {
    const flash = new FlakyFlash();
    const keeper = new BaselineKeeper(flash);
    flash.failSet = true;
    expect(() => keeper.save(baseline)).not.toThrow();
    expect(keeper.counters).toMatchObject({ writes: 0, persistFailures: 1 });
    expect(keeper.flashError).toBe("baseline not saved: nvs set fail");
    expect(flash.values.has(`${PREFERENCE_DOMAIN}/${PREFERENCE_BASELINE_KEY}`)).toBe(false);
    flash.failSet = false;
    keeper.retrySave();
    expect(keeper.flashError).toBeUndefined();
    expect(keeper.counters).toMatchObject({ writes: 1, persistFailures: 1 });
    expect(new BaselineKeeper(flash).load()).toEqual(baseline);
    keeper.retrySave();
    expect(flash.writes).toBe(1);
  });

  it("learns again when the stored baseline cannot be read, counted, without throwing", () => {
    const flash = new FlakyFlash();
    new BaselineKeeper(flash).save(baseline);
    flash.failGet = true;
    const keeper = new BaselineKeeper(flash);
    let loaded: unknown = "not called";
    expect(() => (loaded = keeper.load())).not.toThrow();
    expect(loaded).toBeUndefined();
    expect(keeper.counters).toMatchObject({ loadFailures: 1, storedInvalid: 0 });
    expect(keeper.flashError).toBe("baseline not read: nvs get fail");
    flash.failGet = false;
    keeper.save({ ...baseline, n: 41 });
    expect(keeper.flashError).toBeUndefined();
  });
});
