// Moddable "net": status of the active network connection, mirroring the SDK 8.2 typings
// ($MODDABLE/typings/net.d.ts) for the calls vibewatch may make.
declare module "net" {
  const Net: {
    get(what: "IP", mode?: "station" | "ap" | "ethernet"): string;
    get(what: "MAC", mode?: "station" | "ap" | "ethernet"): string;
    get(what: "SSID"): string;
    get(what: "BSSID"): string;
    /** Wi-Fi received signal strength, dBm */
    get(what: "RSSI"): number;
    get(what: "DNS"): string[];
    resolve(name: string, callback: (name: string, address?: string) => void): void;
  };
  export { Net as default };
}
