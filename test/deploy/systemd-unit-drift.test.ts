// Guards against a systemd unit (manifests/systemd/, written for a Raspberry Pi) that starts a
// command the CLI does not have, or confines the gateway so that its buffer is not writable.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { join, posix } from "node:path";
import { spawnSync } from "node:child_process";
import { readText, repoRoot, runCommands } from "./helpers/manifests.js";
import { loadConfig } from "../../gateway/config/load-config.js";

const systemdDir = join(repoRoot, "manifests/systemd");
const SAMPLE_CONFIG = join(repoRoot, "gateway/sample-config.yaml");

/** [Section] key=value lines; keys may repeat (systemd appends), comments and blanks skipped. */
function parseUnit(text: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = [];
      sections.set(header[1] as string, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || !current) throw new Error(`unit file: cannot read "${line}"`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const units = existsSync(systemdDir) ? readdirSync(systemdDir).filter((file) => file.endsWith(".service")) : [];
const gatewayUnit = units.find((file) => file.includes("gateway"));
const service = () => parseUnit(readText(join(systemdDir, gatewayUnit as string))).get("Service") ?? [];
const values = (key: string) => service().filter(([k]) => k === key).map(([, v]) => v);
const execStart = (): string[] => (values("ExecStart")[0] ?? "").split(/\s+/);

/** ExecStart is `<node> <install dir>/bin/vibewatch.js <command...>`: the part after the script. */
function cliArgs(): { args: string[] } {
  const argv = execStart();
  const script = argv.findIndex((arg) => arg.endsWith("/bin/vibewatch.js"));
  expect(script, `ExecStart runs bin/vibewatch.js: ${argv.join(" ")}`).toBeGreaterThan(0);
  expect(posix.basename(argv[0] as string)).toBe("node");
  return { args: argv.slice(script + 1) };
}

let checked: Promise<Array<{ code: number; output: string }>>;

// the command check spawns the CLI once (seconds; more on a busy 2-core machine)
describe("systemd unit of the gateway", { timeout: 120_000 }, () => {
  beforeAll(() => {
    if (!gatewayUnit) return;
    const { args } = cliArgs();
    const configIndex = args.indexOf("--config");
    // the unit's command line, with the sample config in place of /etc/vibewatch/gateway.yaml
    const argv = args.map((arg, i) => (i === configIndex + 1 ? SAMPLE_CONFIG : arg));
    checked = runCommands([{ argv: [...argv, "--check"], env: { VW_GATEWAY_SINK_TOKEN: "gw-plant-1.check-only" } }]);
  });

  it("exists in manifests/systemd/", () => {
    expect(gatewayUnit, `a *gateway*.service in ${systemdDir}: ${units.join(", ")}`).toBeDefined();
  });

  it("starts `vibewatch gateway --config <file>`, which the CLI accepts", async () => {
    const { args } = cliArgs();
    expect(args[0]).toBe("gateway");
    expect(args[args.indexOf("--config") + 1]).toMatch(/^\/etc\/vibewatch\/.+\.ya?ml$/);
    expect(existsSync(join(repoRoot, "bin/vibewatch.js"))).toBe(true);
    const [result] = await checked;
    expect(result?.code, result?.output).toBe(0);
  });

  it("lets the gateway write where the sample config puts its buffer, and nowhere else it needs", () => {
    const bufferDir = posix.dirname(loadConfig(SAMPLE_CONFIG, { VW_GATEWAY_SINK_TOKEN: "x" }).buffer.path);
    const stateDirs = values("StateDirectory").flatMap((v) => v.split(/\s+/)).map((name) => `/var/lib/${name}`);
    const writable = [...stateDirs, ...values("ReadWritePaths").flatMap((v) => v.split(/\s+/))];
    // with ProtectSystem=strict (or full) nothing else under /var is writable
    expect(writable, `buffer folder ${bufferDir} is writable`).toContain(bufferDir);
  });

  it("runs as an unprivileged user and stops with SIGTERM, which the gateway handles", () => {
    const user = values("User")[0];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    expect(values("KillSignal")[0] ?? "SIGTERM").toBe("SIGTERM");
    expect(values("Restart")[0]).toMatch(/^(always|on-failure)$/);
  });

  // issue 19: StartLimitIntervalSec sat in [Service], where systemd ignores it with a warning, so the
  // unit's "never gives up on a crash loop" did not hold; systemd's own check must be silent
  it("passes systemd-analyze verify without a warning, and never gives up on a crash loop", () => {
    const unit = join(systemdDir, gatewayUnit as string);
    // warnings go to stderr with exit status 0: both streams must be empty
    const result = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    if (result.error) throw new Error(`systemd-analyze: ${result.error.message} (scripts/setup installs systemd)`);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: "", stderr: "" });
    const unitSection = parseUnit(readText(unit)).get("Unit") ?? [];
    expect(unitSection.filter(([k]) => k === "StartLimitIntervalSec").map(([, v]) => v)).toEqual(["0"]);
  });

  // issue 19: a gateway whose event loop is stuck must be restarted, not left hanging; the gateway
  // says READY and pings from its loop (gateway/service/systemd-notify.ts, through systemd-notify)
  it("restarts a hung gateway: Type=notify with a watchdog, and notifications accepted from systemd-notify", () => {
    expect(values("Type")).toEqual(["notify"]);
    expect(values("NotifyAccess")).toEqual(["all"]);
    const watchdog = values("WatchdogSec");
    expect(watchdog).toHaveLength(1);
    expect(Number.parseInt(watchdog[0]!, 10)).toBeGreaterThanOrEqual(10);
    expect(values("Restart")).toEqual(["always"]);
    expect(values("RestrictAddressFamilies").join(" ")).toContain("AF_UNIX"); // $NOTIFY_SOCKET
  });
});
