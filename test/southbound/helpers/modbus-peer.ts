// Modbus servers for the tests, none written here: Debian's python3-pymodbus over TCP on a free
// port, or over RTU on one end of a socat pseudo-terminal pair (the gateway opens the other end).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ManagedProcess, tcpAccepts, freePort } from "../../helpers/services.js";

const PYTHON = "/usr/bin/python3";
const SERVER = join(import.meta.dirname, "..", "peers", "pymodbus-server.py");

export interface RegisterMap {
  holding?: Record<number, number>;
  input?: Record<number, number>;
  coil?: Record<number, number>;
  discrete?: Record<number, number>;
}

export async function startModbusTcpServer(map: RegisterMap, port?: number): Promise<ManagedProcess & { port: number }> {
  const chosen = port ?? (await freePort());
  const server = new ManagedProcess({ name: "pymodbus-tcp", command: PYTHON, args: () => [SERVER, "--tcp", String(chosen), "--map", JSON.stringify(map)], ready: () => tcpAccepts(chosen) });
  await server.start();
  return Object.assign(server, { port: chosen });
}

/** A socat pty pair: two linked pseudo-terminals, at stable symlink paths in `dir`. */
export async function startPtyPair(dir: string): Promise<{ serverPath: string; clientPath: string; stop(): Promise<void> }> {
  const serverPath = join(dir, "ttyServer");
  const clientPath = join(dir, "ttyGateway");
  const child: ChildProcess = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${serverPath}`, `pty,raw,echo=0,link=${clientPath}`], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!(existsSync(serverPath) && existsSync(clientPath))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("socat did not create the pty pair");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    serverPath,
    clientPath,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export async function startModbusRtuServer(map: RegisterMap, path: string): Promise<ManagedProcess> {
  let announced = false;
  const server: ManagedProcess = new ManagedProcess({
    name: "pymodbus-rtu",
    command: PYTHON,
    args: () => [SERVER, "--rtu", path, "--map", JSON.stringify(map)],
    // the script prints "serving" just before it opens the port
    ready: async (): Promise<boolean> => (announced ||= server.log().includes("serving")),
  });
  await server.start();
  return server;
}
