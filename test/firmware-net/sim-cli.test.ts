// `vibewatch sim`. Guards against: bad options that start devices anyway (or crash) instead of a
// usage error naming the option, and a fleet run whose summary does not match what the broker got.
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { runCli } from "../helpers/run-cli.js";
import { simCommand } from "../../cli/commands/sim.js";
import { UsageError } from "../../cli/command.js";
import { decodeDeviceMessage } from "../../protocol/schema/validate.js";
import { parseDeviceTopic } from "../../protocol/topics.js";

describe("vibewatch sim", () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  const usage: [string[], RegExp][] = [
    [["--broker", "mqtt://127.0.0.1:1", "--site", "s1"], /--devices is required/],
    [["--devices", "0", "--broker", "mqtt://127.0.0.1:1", "--site", "s1"], /--devices/],
    [["--devices", "2.5", "--broker", "mqtt://127.0.0.1:1", "--site", "s1"], /--devices must be an integer/],
    [["--devices", "2", "--site", "s1"], /--broker is required/],
    [["--devices", "2", "--broker", "http://127.0.0.1:1", "--site", "s1"], /--broker must be mqtt/],
    [["--devices", "2", "--broker", "not a url", "--site", "s1"], /is not a URL/],
    // the devices run their own TLS stack, which needs a certificate per device
    [["--devices", "2", "--broker", "mqtts://127.0.0.1:8883", "--site", "s1"], /mqtts:\/\/ is not supported/],
    [["--devices", "2", "--broker", "mqtt://127.0.0.1:1", "--site", "Plant One"], /--site/],
    [["--devices", "2", "--broker", "mqtt://127.0.0.1:1", "--site", "s1", "--speed", "100"], /--speed/],
    [["--devices", "2", "--broker", "mqtt://127.0.0.1:1", "--site", "s1", "--colour", "red"], /colour/],
  ];
  for (const [argv, message] of usage) {
    it(`refuses ${argv.join(" ")} with a usage error`, async () => {
      await expect(simCommand.run(argv)).rejects.toThrow(UsageError);
      await expect(simCommand.run(argv)).rejects.toThrow(message);
    });
  }

  it("prints its help", async () => {
    const result = await runCli(["sim", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--devices <n>");
  });

  it("runs a small fleet whose devices differ, and summarises what the broker acknowledged", async () => {
    const watcher = await mqtt.connectAsync(broker.url);
    await watcher.subscribeAsync("vw/v1/site-a/+/tele", { qos: 1 });
    const perDevice = new Map<string, number[]>();
    watcher.on("message", (topic, payload) => {
      const parsed = parseDeviceTopic(topic)!;
      const message = decodeDeviceMessage("tele", new Uint8Array(payload), parsed.device);
      if (message.kind === "tele") perDevice.set(parsed.device, [...(perDevice.get(parsed.device) ?? []), message.payload.r]);
    });
    const result = await runCli(["sim", "--devices", "3", "--broker", broker.url, "--site", "site-a", "--duration", "5", "--speed", "2"], { timeoutMs: 60_000 });
    await watcher.endAsync();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/devices connected 3\/3/);
    const lines = result.stdout.trim().split("\n");
    const summary = JSON.parse(lines[lines.length - 1]!) as { devices: number; telemetry: number; acknowledged: number; dropped: number };
    expect(summary.devices).toBe(3);
    expect(summary.telemetry).toBeGreaterThan(3);
    expect(summary.dropped).toBe(0);
    expect(lines.filter((line) => /^(pump-01|fan-02|compressor-03) /.test(line))).toHaveLength(3);
    expect([...perDevice.keys()].sort()).toEqual(["compressor-03", "fan-02", "pump-01"]);
    // the third device has a LIS3DH, whose nearest rate at or above 3200 Hz differs: devices differ
    expect(new Set([...perDevice.values()].map((rates) => rates[0])).size).toBeGreaterThan(1);
  }, 90_000);
});
