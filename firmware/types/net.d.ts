// Moddable "net" (typings/net.d.ts): status of the active network connection.
declare module "net" {
  const Net: {
    get(what: "IP" | "MAC" | "SSID" | "BSSID"): string;
    /** Wi-Fi received signal strength, dBm */
    get(what: "RSSI"): number;
  };
  export default Net;
}
