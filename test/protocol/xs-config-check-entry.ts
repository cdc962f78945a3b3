// Runs inside XS: the device's own decision on a received config (firmware/config/device-config.ts
// ConfigKeeper.receive: decode with the device's limits, check against protocol/config-fields.ts),
// for one-config-schema.test.ts. The device runs the largest window (4096), so a hop is bounded
// the same way as on the gateway and in the cloud, which cannot know the window in force.
import { onHostCommand } from "../../firmware/sim/host-bridge.js";
import { BUILD_DEFAULTS, ConfigKeeper, type PreferenceStore } from "../../firmware/config/device-config.js";

const noFlash: PreferenceStore = { get: () => undefined, set: () => undefined, delete: () => undefined };

onHostCommand("receive", (message) => {
  const inputs = message.inputs as number[][];
  return inputs.map((bytes) => {
    const outcome = new ConfigKeeper(noFlash, { ...BUILD_DEFAULTS, windowSamples: 4096, hopSamples: 4096 }).receive(Uint8Array.from(bytes));
    return outcome.kind === "rejected" ? { accepted: false, error: outcome.error } : { accepted: outcome.kind === "applied" };
  });
});
