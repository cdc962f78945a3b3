// A process that does what the gateway does under systemd (READY, then watchdog pings from its event
// loop) and then blocks its event loop for argv[2] ms, as a stuck gateway would; then exits.
import pino from "pino";
import { SystemdNotifier } from "../../../gateway/service/systemd-notify.js";

const blockMs = Number(process.argv[2] ?? 3000);
const notifier = new SystemdNotifier({ log: pino({ level: "warn" }) });
notifier.ready("hang test");
setTimeout(() => {
  console.log("BLOCKING");
  const until = Date.now() + blockMs;
  while (Date.now() < until) {
    // the event loop is stuck: no timer runs, so no WATCHDOG=1
  }
  console.log("UNBLOCKED");
  setTimeout(() => process.exit(0), 1500);
}, 1500);
setInterval(() => undefined, 1000); // keep the process alive (the watchdog timer is unref'd)
