// The OTA agent's boot control reaches the bootloader through host functions (firmware/ota/
// boot-control.ts native("xs_vwota_…")): the device build must link each from native/boot-control.c
// (listed in the manifest), the simulator must define each (firmware/sim/host/boot-control.ts), and
// the ESP32 build must turn ESP-IDF's app rollback on, or no image is ever pending.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../simulator/bundle-firmware.js";

const read = (path: string) => readFileSync(resolve(repoRoot, path), "utf8");

describe("OTA native binding", () => {
  it("names the same host functions in the binding, the C and the simulator", () => {
    const names = [...read("firmware/ota/boot-control.ts").matchAll(/native\("(xs_\w+)"\)/g)].map((m) => m[1]!);
    expect(names).toHaveLength(6);
    const c = read("firmware/ota/native/boot-control.c");
    const sim = read("firmware/sim/host/boot-control.ts");
    for (const name of names) {
      expect(c).toMatch(new RegExp(`^void ${name}\\(xsMachine \\*the\\)`, "m"));
      expect(sim).toContain(`globals.${name} =`);
    }
  });

  it("lists the C, splits the app partition for OTA and enables the bootloader's rollback", () => {
    const manifest = JSON.parse(read("firmware/manifest.json")) as { modules: Record<string, string>; platforms: { esp32: { build: Record<string, string>; defines: { ota: { autosplit: number } } } } };
    expect(manifest.modules["firmware/ota/native/*"]).toBe("./ota/native/*");
    expect(manifest.platforms.esp32.defines.ota.autosplit).toBe(1);
    const sdkconfig = read(`firmware/${manifest.platforms.esp32.build.SDKCONFIGPATH}/sdkconfig.defaults`);
    expect(sdkconfig).toMatch(/^CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y$/m);
  });
});
