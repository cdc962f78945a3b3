// The receiving end of systemd's notification socket, for tests: an AF_UNIX datagram socket bound at
// a temporary path (what systemd listens on as $NOTIFY_SOCKET). Node cannot bind one (node:dgram is
// UDP only), so a python3 one-liner does, printing each datagram on a line. A stand-in for systemd's
// side only; the sending side under test is the real systemd-notify.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RECEIVER = [
  "import socket, sys",
  "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
  "s.bind(sys.argv[1])",
  "print('LISTENING', flush=True)",
  "while True:",
  "    data = s.recv(65536)",
  "    print(data.decode('utf-8', 'replace').replace('\\n', ' | '), flush=True)",
].join("\n");

export class NotifySocketReceiver {
  readonly messages: { atMs: number; text: string }[] = [];
  readonly path: string;
  readonly #dir: string;
  readonly #child: ChildProcess;

  private constructor(dir: string, child: ChildProcess) {
    this.#dir = dir;
    this.path = join(dir, "notify.sock");
    this.#child = child;
  }

  static async start(): Promise<NotifySocketReceiver> {
    const dir = mkdtempSync(join(tmpdir(), "vw-notify-"));
    const child = spawn("python3", ["-c", RECEIVER, join(dir, "notify.sock")], { stdio: ["ignore", "pipe", "inherit"] });
    const receiver = new NotifySocketReceiver(dir, child);
    let buffered = "";
    await new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.stdout!.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line === "LISTENING") resolve();
          else receiver.messages.push({ atMs: Date.now(), text: line });
        }
      });
    });
    return receiver;
  }

  texts(): string[] {
    return this.messages.map((m) => m.text);
  }

  async stop(): Promise<void> {
    this.#child.kill("SIGKILL");
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
