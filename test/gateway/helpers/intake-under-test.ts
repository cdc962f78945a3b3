// The intake's MQTT client as the contract test drives it: connect with a fixed client id and
// QoS 1 subscriptions, collect every delivered message with its ack(), lose the connection on
// demand, or die without a word (as a SIGKILLed gateway does).
import { once } from "node:events";
import { Mqtt5Client } from "../../../gateway/sources/mqtt5-client.js";
import { SESSION_NEVER_EXPIRES } from "../../../gateway/sources/mqtt-source.js";

export interface Delivery {
  topic: string;
  payload: Buffer;
  ack: () => void;
}

export interface IntakeOptions {
  url: string;
  clientId: string;
  filters: string[];
  receiveMaximum?: number;
  keepaliveS?: number;
}

export interface IntakeUnderTest {
  readonly deliveries: Delivery[];
  readonly connected: boolean;
  /** QoS 1 messages that arrived beyond the Receive Maximum (the broker's flow control failing) */
  readonly receiveMaximumExceeded: number;
  /** resolves at the first CONNACK */
  start(): Promise<void>;
  /** resolves at the next CONNACK */
  nextConnect(): Promise<void>;
  /** the connection breaks (the client reconnects by itself) */
  dropConnection(): void;
  /** dies without DISCONNECT and without acking anything more */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export function openIntake(options: IntakeOptions): IntakeUnderTest {
  const deliveries: Delivery[] = [];
  const client = new Mqtt5Client(
    {
      url: options.url,
      clientId: options.clientId,
      keepaliveS: options.keepaliveS ?? 30,
      sessionExpiryS: SESSION_NEVER_EXPIRES,
      receiveMaximum: options.receiveMaximum ?? 5000,
      reconnectMs: 100,
      reconnectMaxMs: 500,
      connectTimeoutMs: 5000,
      subscriptions: options.filters,
    },
    (topic, payload, ack) => deliveries.push({ topic, payload, ack }),
  );
  client.on("error", () => undefined);
  let exceeded = 0;
  client.on("receiveMaximumExceeded", () => exceeded++);
  const nextConnect = () => once(client, "connect").then(() => undefined);
  return {
    deliveries,
    get connected() {
      return client.connected;
    },
    get receiveMaximumExceeded() {
      return exceeded;
    },
    async start() {
      const connected = nextConnect();
      client.connect();
      await connected;
    },
    nextConnect,
    dropConnection: () => client.reconnect(),
    async kill() {
      const connection = client.connection;
      if (connection && !connection.closed) {
        const closed = once(connection, "close");
        connection.destroy();
        await closed;
      }
      await client.end();
    },
    close: () => client.end(),
  };
}
