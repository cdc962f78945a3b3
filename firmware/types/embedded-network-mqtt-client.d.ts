// ECMA-419 MQTT client ("embedded:network/mqtt/client") as the Moddable SDK 8.2 types it
// ($MODDABLE/typings/embedded_network/mqtt/client.d.ts), mirrored name for name. The implementation
// ($MODDABLE/examples/io/tcp/mqttclient/mqttclient.js) differs from these typings; the shapes it
// really has are in firmware/net/mqtt-client-contract.ts, and the provider bridges the two once.
/* eslint-disable @typescript-eslint/no-explicit-any -- mirrors the SDK typings, which say `any` here */
declare module "embedded:network/mqtt/client" {
  interface onReadableOptions {
    more: boolean;
    topic?: string;
    QoS?: number;
    byteLength?: number;
  }

  interface onControlMessage {
    operation: number;
    id: number;
    payload?: ByteBuffer;
  }

  interface Will {
    topic?: string;
    message?: string | ByteBuffer;
    QoS?: number;
    retain?: boolean;
  }

  interface Options {
    host: string;
    port?: number;
    user?: string;
    password?: string;
    id?: string;
    clean?: boolean;
    will?: any;
    /** milliseconds */
    keepAlive?: number;
    onReadable?: (count: number, options: onReadableOptions) => void;
    onWritable?: (count: number) => void;
    onControl?: (opcode: number, message: onControlMessage) => void;
    onClose?: () => void;
    onError?: (error: any) => void;
    dns: Record<string, any>;
    socket: Record<string, any>;
  }

  interface WriteOptions {
    operation?: number;
    id?: number;
    topic: string;
    QoS?: number;
    retain?: boolean;
    duplicate?: boolean;
    byteLength?: number;
    items?: any[];
  }

  export default class MQTTClient {
    constructor(options: Options);
    read(count: number): ArrayBuffer;
    read(buffer: ByteBuffer): number;
    write(data: ByteBuffer, options: WriteOptions): number;
    close(): void;

    static CONNECT: 1;
    static CONNACK: 2;
    static PUBLISH: 3;
    static PUBACK: 4;
    static PUBREC: 5;
    static PUBREL: 6;
    static PUBCOMP: 7;
    static SUBSCRIBE: 8;
    static SUBACK: 9;
    static UNSUBSCRIBE: 10;
    static UNSUBACK: 11;
    static PINGREQ: 12;
    static PINGRESP: 13;
    static DISCONNECT: 14;
  }
}
