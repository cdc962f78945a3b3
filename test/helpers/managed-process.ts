// A child process started by a test helper: its own temporary folder, output to a log file there,
// stop/kill/restart, and the folder kept (and its path printed) when a test in this worker failed.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, closeSync, rmSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { anyTestFailed } from "./failure-flag.js";

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: (dir: string) => string[];
  /** resolves once the service answers */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** run as this user (a server that refuses root, e.g. PostgreSQL, when the tests run as root) */
  user?: { uid: number; gid: number };
}

export class ManagedProcess {
  readonly dir: string;
  readonly logPath: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(readonly options: ManagedProcessOptions, dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), `vw-test-${options.name}-`));
    this.logPath = join(this.dir, `${options.name}.log`);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** the exit code once it has exited (null: still running, or ended by a signal) */
  get exitCode(): number | null {
    return this.#child?.exitCode ?? null;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const log = openSync(this.logPath, "a");
    const child = spawn(this.options.command, this.options.args(this.dir), { stdio: ["ignore", log, log], ...this.options.user });
    closeSync(log);
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.options.name} exited during start-up; log:\n${this.log().slice(-2000)}`);
      if (await this.options.ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.options.name} not ready after ${this.options.readyTimeoutMs ?? 30_000} ms; log:\n${this.log().slice(-2000)}`);
  }

  /** Graceful stop (SIGTERM), SIGKILL after the grace period. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Abrupt death, as a power cut would do. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill("SIGKILL");
    await this.#exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, "utf8") : "";
  }

  /** Stops the process and removes its folder, unless a test failed (then says where the logs are). */
  async dispose(): Promise<void> {
    await this.stop();
    if (anyTestFailed()) {
      console.error(`[${this.options.name}] kept for the post-mortem: ${this.dir}`);
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function tcpAccepts(port: number, host = "127.0.0.1"): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function httpOk(url: string, expect = [200, 204]): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return expect.includes(response.status);
  } catch {
    return false;
  }
}
