// systemd's readiness and watchdog protocol (sd_notify(3)) for `Type=notify` + `WatchdogSec=`:
// READY=1 once the gateway runs, WATCHDOG=1 at half the watchdog interval from the event loop, so a
// gateway whose loop is stuck stops pinging and systemd restarts it; STOPPING=1 on a stop.
//
// The protocol is a datagram on the AF_UNIX socket named by $NOTIFY_SOCKET. Node has no AF_UNIX
// datagram sockets (node:dgram is UDP only), so the messages go through systemd's own documented
// client, `systemd-notify` (systemd-notify(1)), which the unit allows with NotifyAccess=all; since
// systemd 246 it waits (BARRIER=1) until systemd has read the message, so systemd attributes it to
// the unit although the sending process exits right after. Outside systemd ($NOTIFY_SOCKET unset)
// nothing is sent and nothing is spawned.
import { execFile } from "node:child_process";
import type { Logger } from "pino";

export const SYSTEMD_NOTIFY_BIN = "systemd-notify";

export interface SystemdNotifierOptions {
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** the systemd-notify executable (tests) */
  bin?: string;
}

export class SystemdNotifier {
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: Logger;
  readonly #bin: string;
  #watchdog: NodeJS.Timeout | undefined;
  /** messages sent, and failed (for tests and the log) */
  readonly counters = { sent: 0, failed: 0 };

  constructor(options: SystemdNotifierOptions) {
    this.#env = options.env ?? process.env;
    this.#log = options.log;
    this.#bin = options.bin ?? SYSTEMD_NOTIFY_BIN;
  }

  /** true when systemd asked for notifications (Type=notify) */
  get enabled(): boolean {
    return Boolean(this.#env.NOTIFY_SOCKET);
  }

  /** the watchdog interval systemd set (WatchdogSec=), ms; undefined when it set none or not for this process */
  get watchdogMs(): number | undefined {
    const usec = Number(this.#env.WATCHDOG_USEC);
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return undefined;
    const pid = this.#env.WATCHDOG_PID;
    if (pid !== undefined && Number(pid) !== process.pid) return undefined; // meant for another process
    return usec / 1000;
  }

  /** READY=1, then the watchdog pings (if systemd set a watchdog) */
  ready(status: string): void {
    if (!this.enabled) return;
    this.#send(["--ready", `--status=${status}`]);
    const intervalMs = this.watchdogMs;
    if (intervalMs === undefined) return;
    // half the interval, as sd_watchdog_enabled(3) advises: one late ping is not a restart
    this.#watchdog = setInterval(() => this.#send(["WATCHDOG=1"]), Math.max(500, intervalMs / 2));
    this.#watchdog.unref();
  }

  stopping(): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    if (this.enabled) this.#send(["STOPPING=1"]);
  }

  #send(args: string[]): void {
    execFile(this.#bin, args, { env: this.#env, timeout: 10_000 }, (error, _stdout, stderr) => {
      if (!error) {
        this.counters.sent++;
        return;
      }
      this.counters.failed++;
      this.#log.warn({ err: error, stderr: stderr.trim().slice(0, 200), message: args.join(" ") }, "systemd notification failed");
    });
  }
}
