// An OPC UA server for the southbound tests: node-opcua's OPCUAServer (not written here), run as
// its own process so a test can kill it. Three variables under ns=1 change every `tickMs`:
// Motor.Current (Double, A), Motor.Speed (UInt32, rpm), Motor.Running (Boolean).
// SIGUSR2 restarts the server inside the process (shutdown: every channel, session and
// subscription gone; `downMs` later a new server instance with a new address space on the same
// port): a PLC's OPC UA server restarting, without paying node's start-up each time. Prints
// "up <n>" once server n listens.
// With a user "name:password" as the 6th argument, anonymous sessions are refused and only that
// user name identity is accepted (the security modes are node-opcua's defaults: None, Sign and
// SignAndEncrypt with its policies).
// Usage: tsx opcua-server.ts <port> <pkiDir> [tickMs] [downMs] [user:password]
import { DataType, OPCUAServer, OPCUACertificateManager, Variant, StatusCodes } from "node-opcua";

const port = Number(process.argv[2]);
const pkiDir = process.argv[3] ?? "/tmp/vw-opcua-pki";
const tickMs = Number(process.argv[4] ?? 50);
const downMs = Number(process.argv[5] ?? 300);
const [userName, password] = (process.argv[6] ?? "").split(":");
const serverCertificateManager = new OPCUACertificateManager({ automaticallyAcceptUnknownCertificate: true, rootFolder: pkiDir });

let tick = 0;
async function startServer(): Promise<{ server: OPCUAServer; timer: NodeJS.Timeout }> {
  const server = new OPCUAServer({
    port,
    serverCertificateManager,
    buildInfo: { productName: "vibewatch-test-plc" },
    allowAnonymous: !userName,
    ...(userName ? { userManager: { isValidUser: (name: string, secret: string) => name === userName && secret === password } } : {}),
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const namespace = addressSpace.getOwnNamespace();
  const motor = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: "Motor" });
  const current = namespace.addVariable({ componentOf: motor, browseName: "Current", nodeId: "s=Motor.Current", dataType: "Double" });
  const speed = namespace.addVariable({ componentOf: motor, browseName: "Speed", nodeId: "s=Motor.Speed", dataType: "UInt32" });
  const running = namespace.addVariable({ componentOf: motor, browseName: "Running", nodeId: "s=Motor.Running", dataType: "Boolean" });
  const update = () => {
    tick += 1;
    current.setValueFromSource(new Variant({ dataType: DataType.Double, value: 12 + (tick % 100) / 10 }), StatusCodes.Good);
    speed.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: 1400 + (tick % 100) }), StatusCodes.Good);
    running.setValueFromSource(new Variant({ dataType: DataType.Boolean, value: tick % 2 === 0 }), StatusCodes.Good);
  };
  update();
  const timer = setInterval(update, tickMs);
  await server.start();
  return { server, timer };
}

let generation = 0;
let running = await startServer();
console.log(`up ${generation}`);
let restarting = Promise.resolve();
process.on("SIGUSR2", () => {
  restarting = restarting.then(async () => {
    clearInterval(running.timer);
    await running.server.shutdown(0);
    console.log(`down ${generation}`);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    running = await startServer();
    generation += 1;
    console.log(`up ${generation}`);
  });
});
const stop = () => void running.server.shutdown(0).then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
