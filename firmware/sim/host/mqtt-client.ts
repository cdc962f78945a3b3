// Simulated "embedded:network/mqtt/client" (XS side). The same class shape as the Moddable SDK's
// ECMA-419 client (examples/io/tcp/mqttclient/mqttclient.js), but the wire is the host's:
//   constructor -> hostCall("mqtt.connect"), write(PUBLISH/SUBSCRIBE/DISCONNECT) -> hostCall(...),
//   close() -> hostCall("mqtt.close").
// The host (simulator/mqtt-bridge.ts) runs a real MQTT.js client against a real broker and sends
// what happens back as host command "mqtt.events": connack, puback (only after the broker's
// PUBACK), suback, message, closed. A closed connection is never revived: the firmware's session
// makes a new client, as it must on the device.
// Runs under XS only: no Node APIs.
import { hostCall, onHostCommand } from "../host-bridge.js";
import type { MqttClientOptions, MqttControlMessage, MqttReadableOptions, MqttWriteOptions } from "../../net/mqtt-client-contract.js";

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBSCRIBE = 8;
const SUBACK = 9;
const PINGREQ = 12;
const DISCONNECT = 14;
/** what write() reports as writable: the host socket never pushes back */
const WRITABLE_BYTES = 4096;

export type BridgeEvent =
  | { handle: number; type: "connack"; returnCode: number }
  | { handle: number; type: "puback"; id: number }
  | { handle: number; type: "suback"; id: number; granted: number[] }
  | { handle: number; type: "message"; topic: string; qos: number; payload: number[] }
  | { handle: number; type: "closed"; reason: string };

const clients = new Map<number, SimulatedMqttClient>();

function toArray(data: ArrayBuffer | string): number[] {
  if (typeof data === "string") return Array.from(new TextEncoder().encode(data));
  return Array.from(new Uint8Array(data));
}

export default class SimulatedMqttClient {
  static readonly CONNECT = 1;
  static readonly CONNACK = 2;
  static readonly PUBLISH = 3;
  static readonly PUBACK = 4;
  static readonly PUBREC = 5;
  static readonly PUBREL = 6;
  static readonly PUBCOMP = 7;
  static readonly SUBSCRIBE = 8;
  static readonly SUBACK = 9;
  static readonly UNSUBSCRIBE = 10;
  static readonly UNSUBACK = 11;
  static readonly PINGREQ = 12;
  static readonly PINGRESP = 13;
  static readonly DISCONNECT = 14;

  #handle: number;
  #options: MqttClientOptions;
  #connected = false;
  #closed = false;
  #pending: Uint8Array | undefined;
  #pendingAt = 0;

  constructor(options: MqttClientOptions) {
    if (!options.host) throw new Error("host required");
    this.#options = options;
    const will = options.will;
    this.#handle = hostCall<number>("mqtt.connect", {
      host: options.host,
      port: options.port ?? 1883,
      id: options.id ?? "",
      clean: options.clean ?? true,
      keepaliveMs: options.keepAlive ?? 0,
      will: will ? { topic: will.topic, payload: toArray(will.message), qos: will.QoS ?? 0, retain: will.retain ?? false } : undefined,
    });
    clients.set(this.#handle, this);
  }

  write(data: ArrayBuffer | null, options: MqttWriteOptions = {}): number {
    if (this.#closed || !this.#connected) throw new Error("mqtt: not connected");
    const operation = options.operation ?? PUBLISH;
    switch (operation) {
      case PUBLISH:
        if (!data || !options.topic) throw new Error("mqtt: publish needs data and a topic");
        hostCall("mqtt.publish", { handle: this.#handle, topic: options.topic, payload: toArray(data), qos: options.QoS ?? 0, retain: options.retain ?? false, id: options.id ?? 0 });
        break;
      case SUBSCRIBE:
        hostCall("mqtt.subscribe", { handle: this.#handle, id: options.id ?? 0, items: (options.items ?? []).map((item) => ({ topic: item.topic, qos: item.QoS ?? 0 })) });
        break;
      case DISCONNECT:
        hostCall("mqtt.disconnect", { handle: this.#handle });
        break;
      case PINGREQ:
        break; // the host client keeps the connection alive itself
      default:
        throw new Error(`mqtt: operation ${operation} is not simulated`);
    }
    return WRITABLE_BYTES;
  }

  read(count: number): ArrayBuffer | undefined {
    const pending = this.#pending;
    if (!pending) return undefined;
    const end = Math.min(pending.length, this.#pendingAt + count);
    const chunk = pending.slice(this.#pendingAt, end);
    this.#pendingAt = end;
    if (end >= pending.length) this.#pending = undefined;
    return chunk.buffer as ArrayBuffer;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clients.delete(this.#handle);
    hostCall("mqtt.close", { handle: this.#handle });
  }

  /** one event from the host bridge */
  dispatch(event: BridgeEvent): void {
    if (this.#closed) return;
    const options = this.#options;
    switch (event.type) {
      case "connack": {
        this.#connected = event.returnCode === 0;
        const message: MqttControlMessage = { operation: CONNACK, id: 0, returnCode: event.returnCode };
        options.onControl?.call(this as never, message);
        if (this.#connected && !this.#closed) options.onWritable?.call(this as never, WRITABLE_BYTES);
        return;
      }
      case "puback":
        options.onControl?.call(this as never, { operation: PUBACK, id: event.id });
        return;
      case "suback":
        options.onControl?.call(this as never, { operation: SUBACK, id: event.id, payload: event.granted });
        return;
      case "message": {
        this.#pending = Uint8Array.from(event.payload);
        this.#pendingAt = 0;
        const readable: MqttReadableOptions = { more: false, topic: event.topic, QoS: event.qos, byteLength: event.payload.length };
        options.onReadable?.call(this as never, event.payload.length, readable);
        this.#pending = undefined;
        return;
      }
      case "closed":
        this.#connected = false;
        // Moddable's client reports a lost connection through onError and then closes itself
        options.onError?.call(this as never, event.reason);
        this.close();
        return;
    }
  }
}

onHostCommand("mqtt.events", (message) => {
  const events = message.events as BridgeEvent[];
  for (const event of events) clients.get(event.handle)?.dispatch(event);
  return events.length;
});
