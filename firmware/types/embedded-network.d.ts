// ECMA-419 sockets and the DNS resolver the device build wires into its MQTT provider
// (firmware/net/mqtt-provider.ts), mirroring the Moddable SDK 8.2 typings
// ($MODDABLE/typings/embedded_io/socket/tcp.d.ts, udp.d.ts, tls.d.ts,
// embedded_network/dns/resolver/udp.d.ts) for the members vibewatch can reach.
/* eslint-disable @typescript-eslint/no-explicit-any -- mirrors the SDK typings, which say `any` here */
declare module "embedded:io/socket/tcp" {
  export type Options = ((({ address: string } | { host: string }) & { port: number }) | { from: TCP }) & {
    nodelay?: boolean;
    onReadable?: (this: TCP, bytes: number) => void;
    onWritable?: (this: TCP, bytes: number) => void;
    onError?: (this: TCP) => void;
    format?: "number" | "buffer";
    target?: any;
  };
  export default class TCP {
    constructor(options: Options);
    readonly remoteAddress: string | undefined;
    readonly remotePort: number | undefined;
    read(byteLength?: number): number | ArrayBuffer;
    read(buffer: ByteBuffer): void;
    write(value: number | ByteBuffer): void;
    close(): void;
    get format(): "number" | "buffer";
    set format(value: "number" | "buffer");
  }
}

declare module "embedded:io/socket/udp" {
  class UDP {
    constructor(options: {
      port?: number;
      address?: string;
      onReadable?: (this: UDP, packets: number) => void;
      onError?: () => void;
      format?: "buffer";
      target?: any;
    });
    write(buffer: ByteBuffer, address: string, port: number): void;
    read(): ArrayBuffer & { address: string; port: number };
    get format(): "buffer";
    set format(value: "buffer");
  }
  export default UDP;
}

// The SDK declares this module in typings/embedded_io/socket/tls.d.ts, a file its manifest_typings
// path map does not reach for this specifier: firmware/manifest.json names that file in "types".
declare module "embedded:io/socket/tcp/tls" {
  import type { Options as TCPOptions } from "embedded:io/socket/tcp";
  export type Options = TCPOptions & { host: string; secure: Record<string, any> };
  export default class TLSSocket {
    constructor(options: Options);
    close(): undefined;
    read(count: number | ArrayBufferLike): undefined | ArrayBufferLike;
    write(buffer: ArrayBufferLike): number;
    set format(format: string);
    get format(): string;
  }
}

declare module "embedded:network/dns/resolver/udp" {
  interface Options {
    host: string;
    onResolved: (host: string, address: any) => null;
    onError: (host: string) => null;
  }
  class Resolver {
    constructor(options: Record<string, any>);
    close(): void;
    resolve(options: Options): void;
  }
  export default Resolver;
}

// Moddable "Resource" (typings/Resource.d.ts): read-only data in flash, listed in the manifest.
declare module "Resource" {
  interface ResourcePrototype extends HostBuffer {
    slice(begin: number, end?: number): ArrayBuffer;
    slice(begin: number, end?: number, copy?: boolean): HostBuffer;
  }
  export interface ResourceConstructor {
    new (path: string): ResourcePrototype;
    exists(path: string): boolean;
  }
  const Resource: ResourceConstructor;
  export { Resource as default };
}
