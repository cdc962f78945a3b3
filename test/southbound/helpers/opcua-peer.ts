// node-opcua's OPCUAServer (peers/opcua-server.ts) as its own process on a free port. Two kinds of
// restart: restartServer() (SIGUSR2: the server shuts down, every session and subscription gone,
// and a new instance comes up on the same port) and the process's own stop()/start() or kill()
// (a crash). Its PKI folder survives both, as a real server's does.
import { join } from "node:path";
import { ManagedProcess, tcpAccepts, freePort } from "../../helpers/services.js";

const SERVER = join(import.meta.dirname, "..", "peers", "opcua-server.ts");

export interface OpcuaPeer extends ManagedProcess {
  port: number;
  endpointUrl: string;
  /** shuts the server down and brings a new instance up (in the same process); resolves once it listens */
  restartServer(): Promise<void>;
}

/** `user`: "name:password" to refuse anonymous sessions and accept that user only */
export async function startOpcuaServer(tickMs = 50, downMs = 300, user?: string): Promise<OpcuaPeer> {
  const port = await freePort();
  const server = new ManagedProcess({
    name: "opcua-server",
    command: process.execPath,
    args: (dir) => ["--import", "tsx", SERVER, String(port), join(dir, "pki"), String(tickMs), String(downMs), ...(user ? [user] : [])],
    ready: () => tcpAccepts(port),
    readyTimeoutMs: 60_000,
  });
  await server.start();
  const upLines = () => server.log().split("\n").filter((line) => line.startsWith("up ")).length;
  const restartServer = async () => {
    const before = upLines();
    process.kill(server.pid as number, "SIGUSR2");
    const deadline = Date.now() + 30_000;
    while (upLines() <= before) {
      if (Date.now() > deadline) throw new Error(`OPC UA server did not come back; log:\n${server.log().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return Object.assign(server, { port, endpointUrl: `opc.tcp://127.0.0.1:${port}`, restartServer });
}
