// ECMA-419 network pieces the device build wires into device.network.mqtt (firmware/net/mqtt-provider.ts),
// as the Moddable SDK implements them (typings/embedded_io/socket/*.d.ts,
// typings/embedded_network/dns/resolver/udp.d.ts). Only what the provider passes on is declared:
// the MQTT client constructs sockets and the resolver itself from these classes.
declare module "embedded:io/socket/tcp" {
  export default class TCP {
    constructor(options: Record<string, unknown>);
    close(): void;
  }
}

declare module "embedded:io/socket/udp" {
  export default class UDP {
    constructor(options: Record<string, unknown>);
    close(): void;
  }
}

declare module "embedded:io/socket/tcp/tls" {
  import TCP from "embedded:io/socket/tcp";
  export default class TLSSocket extends TCP {}
}

declare module "embedded:network/dns/resolver/udp" {
  export default class Resolver {
    constructor(options: Record<string, unknown>);
    close(): void;
  }
}

// Moddable "Resource" (typings/Resource.d.ts): read-only data in flash, listed in the manifest.
declare module "Resource" {
  export default class Resource extends ArrayBuffer {
    constructor(path: string);
    static exists(path: string): boolean;
  }
}
