// "mc/config": build-time values from `mcconfig ... key=value` and the manifest's "config" section.
// Every value arrives as given on the command line (strings), or as typed in the manifest.
declare module "mc/config" {
  const config: {
    readonly ssid?: string;
    readonly password?: string;
    /** MQTT broker host name or address */
    readonly broker?: string;
    /** MQTT broker port; default 8883 with TLS, 1883 plain */
    readonly port?: string | number;
    /** device id, [a-z0-9-]{1,24} */
    readonly device?: string;
    /** site id, [a-z0-9-]{1,24} */
    readonly site?: string;
    /** "1" to talk plain MQTT (no TLS); production builds leave it unset */
    readonly mqtt_plain?: string | number;
    /** accelerometer part: "lis3dh" | "adxl345" */
    readonly sensor?: string;
    readonly [key: string]: unknown;
  };
  export default config;
}
