// The ECMA-419 MQTT client ("embedded:network/mqtt/client") as its Moddable implementation
// ($MODDABLE/examples/io/tcp/mqttclient/mqttclient.js) behaves, which is what the session relies
// on and what the simulated client (sim/host/mqtt-client.ts) reproduces. The SDK's typings
// (types/embedded-network-mqtt-client.d.ts mirrors them) differ from the implementation in:
//   - onControl is called with ONE argument, the parsed packet {operation, id, returnCode?, payload?}
//     (the typings say (opcode, message));
//   - CONNACK carries returnCode and SUBACK's payload is an Array of granted QoS codes (the typings
//     have no returnCode and say ByteBuffer);
//   - control packets are written as write(null, {operation, ...}) (the typings require bytes and
//     a topic);
//   - read(count) returns undefined when nothing is buffered.
// net/mqtt-session.ts (clientClass) is the one place that takes the SDK class as this contract.

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
  /** milliseconds; 0 disables PINGREQ (the SDK's spelling; its client also reads `keepalive`) */
  keepAlive?: number;
  will?: MqttWill;
  onReadable?: (this: MqttClientLike, count: number, options: MqttReadableOptions) => void;
  onWritable?: (this: MqttClientLike, count: number) => void;
  onControl?: (this: MqttClientLike, message: MqttControlMessage) => void;
  onClose?: (this: MqttClientLike) => void;
  onError?: (this: MqttClientLike, error?: unknown) => void;
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

/** The client instance as the session uses it. */
export interface MqttClientLike {
  /** returns the bytes still writable; throws when the message does not fit or before CONNACK */
  write(data: ArrayBuffer | null, options?: MqttWriteOptions): number;
  read(count: number): ArrayBuffer | undefined;
  close(): void;
}

/** The client class: device.network.mqtt.io. */
export type MqttClientClass = new (options: MqttClientOptions) => MqttClientLike;
