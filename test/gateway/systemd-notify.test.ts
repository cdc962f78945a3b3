// The gateway under systemd's Type=notify with WatchdogSec= (issue 19): READY=1 once it runs,
// WATCHDOG=1 from its event loop at half the interval, none while the loop is stuck (so systemd
// restarts a hung gateway), STOPPING=1 on a stop. The sender is the real systemd-notify; the
// receiving socket is a stand-in for systemd's (NotifySocketReceiver).
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { SystemdNotifier } from "../../gateway/service/systemd-notify.js";
import { NotifySocketReceiver } from "./helpers/notify-socket-receiver.js";
import { repoRoot } from "../helpers/run-cli.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startMosquitto } from "../helpers/services.js";
import { testConfig, writeConfig } from "./helpers/gateway-fixture.js";

const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe("systemd notifications", () => {
  let receiver: NotifySocketReceiver;
  beforeAll(async () => {
    receiver = await NotifySocketReceiver.start();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it("sends nothing outside systemd", () => {
    const notifier = new SystemdNotifier({ env: {}, log: pino({ level: "silent" }) });
    notifier.ready("x");
    notifier.stopping();
    expect(notifier.enabled).toBe(false);
    expect(notifier.counters).toEqual({ sent: 0, failed: 0 });
  });

  it("says READY with a status, pings the watchdog at half its interval, and says STOPPING", async () => {
    receiver.messages.length = 0;
    const env = { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: "1000000", WATCHDOG_PID: String(process.pid) };
    const notifier = new SystemdNotifier({ env, log: pino({ level: "silent" }) });
    expect(notifier.watchdogMs).toBe(1000);
    notifier.ready("gateway gw-test: forwarding");
    await until("three watchdog pings", () => receiver.texts().filter((t) => t === "WATCHDOG=1").length >= 3);
    notifier.stopping();
    await until("STOPPING=1", () => receiver.texts().includes("STOPPING=1"));
    const ready = receiver.texts().find((t) => t.includes("READY=1"));
    expect(ready).toContain("STATUS=gateway gw-test: forwarding");
    expect(notifier.counters.failed).toBe(0);
    // no ping after STOPPING
    const count = receiver.texts().length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(receiver.texts().length).toBe(count);
  });

  it("ignores a watchdog meant for another process (WATCHDOG_PID)", () => {
    const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: "1000000", WATCHDOG_PID: "1" }, log: pino({ level: "silent" }) });
    expect(notifier.watchdogMs).toBeUndefined();
  });

  it("stops pinging while the event loop is stuck, so systemd's watchdog fires", async () => {
    receiver.messages.length = 0;
    // WATCHDOG_PID unset: the child is the main process (systemd sets it only when it differs)
    const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: "600000" };
    delete env.WATCHDOG_PID;
    const child = spawn(process.execPath, ["--import", "tsx", "test/gateway/helpers/notifier-hang-entry.ts", "3000"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "inherit"] });
    const marks: Record<string, number> = {};
    child.stdout.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line) marks[line] = Date.now();
    });
    await new Promise<void>((resolve) => child.on("exit", () => resolve()));
    expect(marks.BLOCKING).toBeDefined();
    expect(marks.UNBLOCKED).toBeDefined();
    const pings = receiver.messages.filter((m) => m.text === "WATCHDOG=1");
    expect(pings.filter((p) => p.atMs < marks.BLOCKING!).length).toBeGreaterThanOrEqual(2);
    // none while blocked (a ping sent just before the block may land a little after it)
    expect(pings.filter((p) => p.atMs > marks.BLOCKING! + 500 && p.atMs < marks.UNBLOCKED!)).toEqual([]);
    expect(pings.filter((p) => p.atMs > marks.UNBLOCKED!).length).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it("the gateway command says READY once it runs and STOPPING on SIGTERM, then exits 0", async () => {
    receiver.messages.length = 0;
    const broker = await startMosquitto();
    const dir = mkdtempSync(join(tmpdir(), "vw-gw-notify-"));
    try {
      const config = testConfig({ mqttUrl: broker.url, sinkUrl: "http://127.0.0.1:9/", dir, overrides: { http: { port: await freePort() } } });
      const env = { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: "2000000" };
      const child = spawn(process.execPath, ["--import", "tsx", "test/gateway/helpers/gateway-cli-entry.ts", "gateway", "--config", writeConfig(config, dir)], { cwd: repoRoot, env, stdio: "ignore" });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      await until("READY=1 from the gateway", () => receiver.texts().some((t) => t.includes("READY=1")), 30_000);
      expect(receiver.texts().find((t) => t.includes("READY=1"))).toContain("STATUS=gateway gw-test: forwarding");
      await until("a watchdog ping", () => receiver.texts().includes("WATCHDOG=1"), 10_000);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await until("STOPPING=1", () => receiver.texts().includes("STOPPING=1"));
    } finally {
      await broker.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
