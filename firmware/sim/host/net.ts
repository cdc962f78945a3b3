// Simulated Moddable "net" (XS side): the Wi-Fi figures come from the host, which simulates them
// per device (simulator/device-runner.ts). Runs under XS only.
import { hostCall } from "../host-bridge.js";

function get(what: "IP" | "MAC" | "SSID" | "BSSID"): string;
function get(what: "RSSI"): number;
function get(what: string): string | number {
  return hostCall<string | number>("net.get", { what });
}

const Net = { get };
export default Net;
