// ECMA-419 MQTT client of the Moddable SDK ("embedded:network/mqtt/client", implemented in
// $MODDABLE/examples/io/tcp/mqttclient/mqttclient.js; typings/embedded_network/mqtt/client.d.ts).
// Declared as the implementation behaves (it differs from the SDK's typings in two places):
//   - onControl is called with ONE argument, the parsed packet {operation, id, returnCode?, payload?};
//   - the keepalive option is spelled `keepalive` and is in milliseconds.
// On a device the class is reached through the host provider: device.network.mqtt.io.
declare module "embedded:network/mqtt/client" {
  export interface MqttReadableOptions {
    /** more fragments of this PUBLISH follow */
    more: boolean;
    /** only on the first fragment of a PUBLISH */
    topic?: string;
    QoS?: number;
    byteLength?: number;
  }

  export interface MqttControlMessage {
    /** MQTTClient.CONNACK, PUBACK, SUBACK, ... */
    operation: number;
    /** packet id (PUBACK, SUBACK, ...) */
    id?: number;
    /** CONNACK return code: 0 accepted */
    returnCode?: number;
    /** SUBACK: granted QoS per topic (0x80 = failure) */
    payload?: number[];
  }

  export interface MqttWill {
    topic: string;
    message: string | ArrayBuffer;
    QoS?: number;
    retain?: boolean;
  }

  export interface MqttClientOptions {
    host: string;
    port?: number;
    id?: string;
    user?: string;
    password?: string;
    /** CleanSession flag; the client defaults to true */
    clean?: boolean;
    /** milliseconds; 0 disables PINGREQ */
    keepalive?: number;
    will?: MqttWill;
    onReadable?: (this: MQTTClient, count: number, options: MqttReadableOptions) => void;
    onWritable?: (this: MQTTClient, count: number) => void;
    onControl?: (this: MQTTClient, message: MqttControlMessage) => void;
    onClose?: (this: MQTTClient) => void;
    onError?: (this: MQTTClient, error?: unknown) => void;
    /** provider parts: dns {io, servers, socket}, socket {io, secure?} */
    dns?: Record<string, unknown>;
    socket?: Record<string, unknown>;
  }

  export interface MqttWriteOptions {
    operation?: number;
    id?: number;
    topic?: string;
    QoS?: number;
    retain?: boolean;
    duplicate?: boolean;
    byteLength?: number;
    items?: { topic: string; QoS?: number }[];
  }

  export default class MQTTClient {
    constructor(options: MqttClientOptions);
    read(count: number): ArrayBuffer | undefined;
    /** returns the bytes still writable; throws when the message does not fit or before CONNACK */
    write(data: ArrayBuffer | null, options?: MqttWriteOptions): number;
    close(): void;

    static readonly CONNECT: 1;
    static readonly CONNACK: 2;
    static readonly PUBLISH: 3;
    static readonly PUBACK: 4;
    static readonly PUBREC: 5;
    static readonly PUBREL: 6;
    static readonly PUBCOMP: 7;
    static readonly SUBSCRIBE: 8;
    static readonly SUBACK: 9;
    static readonly UNSUBSCRIBE: 10;
    static readonly UNSUBACK: 11;
    static readonly PINGREQ: 12;
    static readonly PINGRESP: 13;
    static readonly DISCONNECT: 14;
  }
}
