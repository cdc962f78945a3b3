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
  "embedded:network/mqtt/client": "firmware/sim/host/mqtt-client.ts",
  preference: "firmware/sim/host/preference.ts",
  net: "firmware/sim/host/net.ts",
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
    plugins: [hostModulesPlugin(hostModules)],
  });
  const code = result.outputFiles[0]?.text ?? "";
  cache.set(key, code);
  return code;
}
