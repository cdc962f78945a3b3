// The simulated app flash (simulator/flash-store.ts) behaves as the ESP32's does where OTA depends on
// it: NOR writes only clear bits until erased, the running slot cannot be written, a switch needs an
// image, a pending image booted once and not confirmed is rolled back by the bootloader (ESP-IDF with
// CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE), a confirmed one stays, and a power cut changes nothing more.
import { describe, expect, it } from "vitest";
import { FlashStore, SECTOR_BYTES } from "../../simulator/flash-store.js";

const call = (flash: FlashStore, op: string, args: Record<string, unknown> = {}) => flash.handle({ op, ...args }).value;

describe("simulated app flash", () => {
  it("writes only clear bits until a sector is erased, and never the running slot", () => {
    const flash = new FlashStore(new TextEncoder().encode("old image"));
    flash.boot();
    expect(call(flash, "flash.open", { partition: "nextota" })).toMatchObject({ slot: 1, blockSize: SECTOR_BYTES });
    call(flash, "flash.write", { slot: 1, offset: 0, hex: "0f" });
    call(flash, "flash.write", { slot: 1, offset: 0, hex: "f0" });
    expect(call(flash, "flash.read", { slot: 1, offset: 0, byteLength: 2 })).toBe("00ff");
    call(flash, "flash.erase", { slot: 1, sector: 0 });
    call(flash, "flash.write", { slot: 1, offset: 0, hex: "6e6577" });
    expect(new TextDecoder().decode(flash.image(1))).toBe("new");
    expect(call(flash, "flash.write", { slot: 0, offset: 0, hex: "00" })).toEqual({ fail: "write failed (running app slot)" });
    expect(new TextDecoder().decode(flash.image(0))).toBe("old image");
  });

  it("rolls back a pending image that boots again unconfirmed, keeps a confirmed one", () => {
    const flash = new FlashStore(new TextEncoder().encode("old"));
    flash.boot();
    expect(call(flash, "ota.activate")).toEqual({ fail: "ota: set boot partition failed (image invalid)" });
    call(flash, "flash.write", { slot: 1, offset: 0, hex: "6e6577" });
    call(flash, "ota.activate");
    expect(flash.boot()).toMatchObject({ slot: 1, pending: true });
    expect(call(flash, "ota.running")).toBe(1 | 2);
    // reset before the confirm: the bootloader gives up on slot 1
    expect(flash.boot()).toMatchObject({ slot: 0, pending: false, rolledBackFrom: 1 });
    expect(flash.record.invalid).toEqual([1]);
    // switch again, confirm: it stays
    call(flash, "ota.activate");
    flash.boot();
    call(flash, "ota.mark-valid");
    expect(flash.boot()).toMatchObject({ slot: 1, pending: false });
    expect(flash.boot()).toMatchObject({ slot: 1, pending: false });
  });

  it("a roll-back from the pending image asks for a reboot into the other slot", () => {
    const flash = new FlashStore(new TextEncoder().encode("old"));
    flash.boot();
    expect(call(flash, "ota.roll-back")).toEqual({ fail: "ota: rollback failed (running image is not pending)" });
    call(flash, "flash.write", { slot: 1, offset: 0, hex: "6e6577" });
    call(flash, "ota.activate");
    flash.boot();
    call(flash, "ota.roll-back");
    expect(flash.rebootRequested).toBe("roll-back");
    expect(flash.boot()).toMatchObject({ slot: 0, pending: false });
  });

  it("after a power cut nothing reaches flash or the boot record until the next boot", () => {
    const flash = new FlashStore(new TextEncoder().encode("old"));
    flash.boot();
    call(flash, "flash.write", { slot: 1, offset: 0, hex: "6e6577" });
    flash.cutPowerAt("ota.activate");
    call(flash, "ota.activate");
    expect(flash.poweredOff).toBe(true);
    expect(flash.rebootRequested).toBe("power-cut");
    call(flash, "flash.erase", { slot: 1, sector: 0 });
    expect(flash.boot()).toMatchObject({ slot: 0, pending: false }); // the switch never happened
    expect(new TextDecoder().decode(flash.image(1))).toBe("new");
    expect(flash.poweredOff).toBe(false);
  });
});
