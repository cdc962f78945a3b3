// Acknowledge-after-durable for MQTT.js. MQTT.js sends the PUBACK of a QoS 1 message when the
// callback of client.handleMessage(packet, callback) is called, but it also handles the next
// incoming packet only after that callback: awaiting a commit there would commit one message at a
// time. So handleMessage hands the message over with an ack() to call once it is durable, and
// releases MQTT.js's packet pump at once by calling the callback with an error (MQTT.js then skips
// its own PUBACK and continues with the next packet); ack() then queues the PUBACK.
//
// The PUBACKs of one commit are written together, as one buffer on the connection's socket (a
// microtask after the commit's acks), instead of one MQTT.js packet write each: per-packet writes
// cost about a fifth of the gateway's CPU in the bench. A PUBACK is fixed-size in MQTT 3.1.1
// (0x40, remaining length 2, packet id), the only protocol version the source speaks.
//
// A PUBACK belongs to one connection: after a reconnect the same packet id may name another
// message, so an ack() from an older connection (another socket) is dropped (the broker
// redelivers that message, and the buffer's (device, boot, seq) dedupe keeps it from being stored
// twice). Acks are written in the order the commits finish, which is the order the messages
// arrived (MQTT 3.1.1 §4.6).
//
// One turn of the event loop every YIELD_EVERY_MESSAGES: a broker's backlog arrives as fast as the
// socket can be read, and without a pause MQTT.js handled ~16,000 messages (150-350 ms) in one turn,
// while timers, the sink's replies and /metrics waited: forwarding fell up to 38,000 records
// behind the intake in the bench. Releasing the pump after a setImmediate stalls MQTT.js's stream
// for one turn (and the socket by backpressure; pausing the socket alone does not hold, since the
// pipe into MQTT.js resumes it on every drain). Measured: the event loop's longest delay fell from
// 160-290 ms to 40-66 ms and forwarding kept up (0.5-2 k records behind at the end of the intake).
import type { IPublishPacket, MqttClient } from "mqtt";

export type DeliverFn = (topic: string, payload: Uint8Array, ack: () => void) => void;

const DEFERRED = new Error("vibewatch: PUBACK deferred until the message is durable");
/** see "One turn of the event loop" in the header comment */
export const YIELD_EVERY_MESSAGES = 1000;
const PUBACK = 0x40;
const PUBACK_BYTES = 4;

type Stream = MqttClient["stream"];

export function installDeferredPuback(client: MqttClient, deliver: DeliverFn): void {
  let connection = 0;
  client.on("close", () => {
    connection++;
  });
  client.on("connect", () => {
    connection++;
  });
  // packet ids acknowledged since the last write, all of the connection `queuedOn`
  let queued: number[] = [];
  let queuedOn = -1;
  let queuedStream: Stream | undefined;
  let scheduled = false;
  const write = () => {
    scheduled = false;
    const ids = queued;
    queued = [];
    const stream = queuedStream;
    queuedStream = undefined;
    if (ids.length === 0 || !stream || queuedOn !== connection || !client.connected || client.stream !== stream || stream.destroyed) return;
    const bytes = Buffer.allocUnsafe(ids.length * PUBACK_BYTES);
    for (let i = 0, at = 0; i < ids.length; i++, at += PUBACK_BYTES) {
      const id = ids[i] as number;
      bytes[at] = PUBACK;
      bytes[at + 1] = 2;
      bytes[at + 2] = id >> 8;
      bytes[at + 3] = id & 0xff;
    }
    stream.write(bytes);
  };
  let sinceYield = 0;
  /** Releases MQTT.js's pump now, or after one turn of the event loop every YIELD_EVERY_MESSAGES. */
  const release = (callback: (error?: Error) => void, error?: Error) => {
    if (++sinceYield < YIELD_EVERY_MESSAGES) return callback(error);
    sinceYield = 0;
    setImmediate(callback, error);
  };
  client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void) => {
    const topic = packet.topic;
    const payload = typeof packet.payload === "string" ? new TextEncoder().encode(packet.payload) : packet.payload;
    if (packet.qos !== 1 || packet.messageId === undefined) {
      // QoS 0 needs no ack; QoS 2 is never granted (subscriptions are QoS 1)
      deliver(topic, payload, () => {});
      release(callback);
      return;
    }
    const mine = connection;
    const stream = client.stream;
    const messageId = packet.messageId;
    deliver(topic, payload, () => {
      if (mine !== connection || !client.connected || client.stream !== stream) return;
      if (queuedOn !== mine || queuedStream !== stream) {
        write(); // a previous connection's leftovers are dropped by write()
        queuedOn = mine;
        queuedStream = stream;
      }
      queued.push(messageId);
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(write);
      }
    });
    release(callback, DEFERRED);
  };
}
