// The Moddable build of the firmware (firmware/manifest.json, firmware/main.ts). No Moddable SDK runs
// here, so this guards against what can be checked without one: a module main.ts pulls in that the
// manifest does not list (the ESP32 build would fail to link it), a host module nobody provides,
// and build config that silently falls back to plain MQTT or to wrong topics.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../simulator/bundle-firmware.js";
import { readBuildConfig } from "../../firmware/config/build-config.js";

interface Manifest {
  include: string[];
  modules: Record<string, string | string[]>;
  preload: string[];
  config: Record<string, unknown>;
  typescript: { tsconfig: { compilerOptions: Record<string, unknown> } };
  platforms: Record<string, { creation?: Record<string, unknown>; defines?: Record<string, unknown> }>;
}

const manifest = JSON.parse(readFileSync(resolve(repoRoot, "firmware/manifest.json"), "utf8")) as Manifest;

/** specifiers the included SDK manifests provide (manifest_base/net, modules/io, dns, preference, tls_419, instrumentation; embedded:io/socket/tcp/tls comes from examples/io/tcp/tlssocket) */
const SDK_MODULES = [
  "timer", "time", "net", "preference", "instrumentation", "mc/config", "Resource",
  "embedded:io/i2c", "embedded:io/smbus", "embedded:io/spi", "embedded:io/socket/tcp", "embedded:io/socket/udp", "embedded:io/socket/tcp/tls",
  "embedded:network/dns/resolver/udp",
  // OTA (issue 15): "flash" from modules/files/flash/manifest.json; "crypt", "ecdsa", "curve", "ecp" from tls_419 (tls_common.json)
  "flash", "crypt", "ecdsa", "curve", "ecp",
];

function manifestPatterns(): RegExp[] {
  const patterns: RegExp[] = [];
  for (const [, value] of Object.entries(manifest.modules)) {
    for (const path of Array.isArray(value) ? value : [value]) {
      if (path.startsWith("$(MODDABLE)")) continue;
      const fromRoot = relative(repoRoot, resolve(repoRoot, "firmware", path)).replaceAll("\\", "/");
      patterns.push(new RegExp(`^${fromRoot.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace("\\*", "[^/]+").replace("*", "[^/]+")}\\.ts$`));
    }
  }
  return patterns;
}

describe("firmware manifest", () => {
  it("lists every source file main.ts imports, and every host module it imports is provided", async () => {
    const external = new Set<string>();
    const result = await build({
      entryPoints: [resolve(repoRoot, "firmware/main.ts")],
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      platform: "neutral",
      logLevel: "silent",
      plugins: [{
        name: "host-modules",
        setup(builder) {
          builder.onResolve({ filter: /^(embedded:|[A-Za-z][A-Za-z0-9-]*(\/config)?$)/ }, (args) => {
            external.add(args.path);
            return { path: args.path, external: true };
          });
        },
      }],
    });
    const sources = Object.keys(result.metafile.inputs).map((p) => relative(repoRoot, resolve(p)).replaceAll("\\", "/"));
    expect(sources).toContain("firmware/main.ts");
    expect(sources.some((s) => s.startsWith("firmware/sim/"))).toBe(false);
    const patterns = manifestPatterns();
    const unlisted = sources.filter((source) => !patterns.some((pattern) => pattern.test(source)));
    // preloaded into flash, not built in RAM at boot: mcconfig matches a wildcard preload against .js
    // modules only (tools/mcconfig.js filterPreload), so each TypeScript module is named
    const preload = new Set(manifest.preload);
    const notPreloaded = sources.filter((s) => s !== "firmware/main.ts").map((s) => s.replace(/\.ts$/, "")).filter((m) => !preload.has(m));
    expect(notPreloaded).toEqual([]);
    expect(manifest.preload.filter((entry) => entry.includes("*"))).toEqual([]);
    expect(unlisted).toEqual([]);
    const provided = new Set([...SDK_MODULES, ...Object.keys(manifest.modules)]);
    expect([...external].filter((specifier) => !provided.has(specifier))).toEqual([]);
    // the device's MQTT client is its own (firmware/net/mqtt-client.ts), not the SDK's example
    // client, which wedges on an empty payload (issue 20)
    expect(external.has("embedded:network/mqtt/client")).toBe(false);
    expect(manifest.modules["embedded:network/mqtt/client"]).toBeUndefined();
  });

  // Module names mirror the repository's layout (firmware/…, protocol/…): XS resolves a relative
  // import against the importing module's name, so "../../protocol/topics.js" from
  // firmware/config/build-config names protocol/topics only then; with firmware modules at the
  // root it climbs above the root and the device fails at boot with "module not found" (found when
  // preloading made xsl run the modules: issue 13)
  it("names every firmware module firmware/<path> and every protocol module protocol/<file>, so relative imports resolve on the device", () => {
    for (const [name, path] of Object.entries(manifest.modules)) {
      if (typeof path !== "string" || path.startsWith("$(MODDABLE)")) continue;
      const file = relative(repoRoot, resolve(repoRoot, "firmware", path)).replaceAll("\\", "/");
      expect(file, `module ${name}`).toBe(name);
    }
  });

  it("lists the native DSP's C, so the device links the host functions native-core.ts names (issue 13)", () => {
    // a .c under a folder needs its own modules entry: "dsp/*" takes the files of dsp/ only (tools/mcmanifest.js)
    expect(manifest.modules["firmware/dsp/native/*"]).toBe("./dsp/native/*");
    const names = [...readFileSync(resolve(repoRoot, "firmware/dsp/native-core.ts"), "utf8").matchAll(/native\("(xs_\w+)"\)/g)].map((m) => m[1]);
    const binding = readFileSync(resolve(repoRoot, "firmware/dsp/native/dsp-binding.c"), "utf8");
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(binding).toMatch(new RegExp(`^void ${name}\\(xsMachine \\*the\\)`, "m"));
  });

  it("has ESP32 creation sizes, I2C pins and a typescript section", () => {
    const esp32 = manifest.platforms.esp32!;
    expect(esp32.creation).toMatchObject({ static: 0, stack: 512 });
    expect(esp32.defines).toMatchObject({ i2c: { sda_pin: 21, scl_pin: 22 } });
    expect(manifest.typescript.tsconfig.compilerOptions.strict).toBe(true);
    expect(manifest.config.sensor).toBe("lis3dh");
  });
});

describe("build config (mc/config)", () => {
  const base = { broker: "mqtt.plant-1.example", device: "pump-07", site: "plant-1" };

  it("defaults to TLS on 8883 with the PKI's resource names", () => {
    expect(readBuildConfig(base)).toMatchObject({ tls: true, brokerPort: 8883, tlsCa: "vw-ca.der", tlsCert: "vw-device-cert.der", tlsKey: "vw-device-key.der", sensorPart: "lis3dh" });
  });

  it("talks plain MQTT only when the build asks for it explicitly", () => {
    expect(readBuildConfig({ ...base, mqtt_plain: "1" })).toMatchObject({ tls: false, brokerPort: 1883 });
    expect(readBuildConfig({ ...base, mqtt_plain: "0" }).tls).toBe(true);
  });

  it("stops a build with a missing or malformed value, naming the key", () => {
    expect(() => readBuildConfig({ ...base, device: "" })).toThrow(/device=/);
    expect(() => readBuildConfig({ ...base, device: "Pump 7" })).toThrow(/device=/);
    expect(() => readBuildConfig({ ...base, site: undefined })).toThrow(/site=/);
    expect(() => readBuildConfig({ ...base, port: "99999" })).toThrow(/port=/);
    expect(() => readBuildConfig({ ...base, sensor: "mpu6050" })).toThrow(/sensor=/);
    expect(() => readBuildConfig({ ...base, broker: undefined })).toThrow(/broker=/);
  });
});
