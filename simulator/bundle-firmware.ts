// Bundles firmware TypeScript into one script that XS evaluates, mapping each Moddable host module
// specifier ("timer", "embedded:io/i2c", ...) to its simulated implementation in firmware/sim/host/.
// This is the only step between the code that goes to the ESP32 and the code the simulator runs.
import { build, type Plugin } from "esbuild";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";

/** repository root, whether running from source (simulator/) or from dist/simulator/ */
export const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
})();

/**
 * Moddable module specifier -> file (from the repository root) implementing it in the simulator.
 * One line per simulated host module.
 */
export const simulatedHostModules: Record<string, string> = {
  timer: "firmware/sim/host/timer.ts",
  time: "firmware/sim/host/time.ts",
  "embedded:io/i2c": "firmware/sim/host/i2c.ts",
  "embedded:io/smbus": "firmware/sim/host/smbus.ts",
  "embedded:io/spi": "firmware/sim/host/spi.ts",
  "embedded:io/socket/tcp": "firmware/sim/host/tcp-socket.ts",
  "embedded:io/socket/tcp/tls": "firmware/sim/host/tls-socket.ts",
  preference: "firmware/sim/host/preference.ts",
  net: "firmware/sim/host/net.ts",
  flash: "firmware/sim/host/flash.ts",
  crypt: "firmware/sim/host/crypt.ts",
  ecdsa: "firmware/sim/host/ecdsa.ts",
  curve: "firmware/sim/host/curve.ts",
  ecp: "firmware/sim/host/ecp.ts",
};

function hostModulesPlugin(extra: Record<string, string>): Plugin {
  return {
    name: "moddable-host-modules",
    setup(builder) {
      builder.onResolve({ filter: /^(embedded:|[a-z][a-z0-9-]*$)/ }, (args) => {
        const mapped = extra[args.path] ?? simulatedHostModules[args.path];
        if (!mapped) return undefined;
        return { path: resolve(repoRoot, mapped) };
      });
    },
  };
}

/**
 * Moddable's global `native(name)` (xs/includes/xs.d.ts), which xsc compiles into a reference to the
 * host function `name` on the device. In the simulator's XS worker those host functions are globals
 * of the same name (scripts/build-xs-worker.js), so native() is a lookup; defined only if absent.
 * When the bundle carries the simulated board's clock (firmware/sim/virtual-clock.ts), that module
 * has installed globalThis.vwsimNativeWithDeviceCost by the time the firmware first calls native()
 * (native-core.ts binds on first use, after every module is evaluated): the lookup then hands the
 * function to it, and a native DSP call comes back wrapped so that it charges its estimated ESP32
 * time (firmware/sim/device-cost-model.ts). A bundle without the clock (the DSP bench) gets the bare
 * host functions.
 */
export const nativeBanner =
  'if (typeof globalThis.native === "undefined") globalThis.native = (name) => { const f = globalThis[name]; ' +
  'if (typeof f !== "function") throw new Error(`native: no host function ${name} in this XS worker`); ' +
  'const withCost = globalThis.vwsimNativeWithDeviceCost; return typeof withCost === "function" ? withCost(name, f) : f; };';

const cache = new Map<string, string>();

/**
 * Bundles `entry` (a path relative to the repository root) as an IIFE script for XS.
 * `hostModules` maps extra specifiers to files (relative to the repository root).
 */
export async function bundleFirmware(entry: string, hostModules: Record<string, string> = {}): Promise<string> {
  const key = JSON.stringify([entry, hostModules, simulatedHostModules]);
  const cached = cache.get(key);
  if (cached) return cached;
  const result = await build({
    entryPoints: [resolve(repoRoot, entry)],
    bundle: true,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    write: false,
    logLevel: "silent",
    banner: { js: nativeBanner },
    plugins: [hostModulesPlugin(hostModules)],
  });
  const code = result.outputFiles[0]?.text ?? "";
  cache.set(key, code);
  return code;
}
