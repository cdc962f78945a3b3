// Acknowledge-after-durable for MQTT.js. MQTT.js sends the PUBACK of a QoS 1 message when the
// callback of client.handleMessage(packet, callback) is called, but it also handles the next
// incoming packet only after that callback: awaiting a commit there would commit one message at a
// time. So handleMessage hands the message over with an ack() to call once it is durable, and
// releases MQTT.js's packet pump at once by calling the callback with an error (MQTT.js then skips
// its own PUBACK and continues with the next packet); ack() then writes the PUBACK itself.
//
// A PUBACK belongs to one connection: after a reconnect the same packet id may name another
// message, so an ack() from an older connection is dropped (the broker redelivers that message,
// and the buffer's (device, boot, seq) dedupe keeps it from being stored twice). Acks are written
// in the order the commits finish, which is the order the messages arrived (MQTT 3.1.1 §4.6).
// Relies on MqttClient._sendPacket (private, MQTT.js 5.x): pinned by test/gateway tests.
import type { IPublishPacket, MqttClient } from "mqtt";

export type DeliverFn = (topic: string, payload: Uint8Array, ack: () => void) => void;

const DEFERRED = new Error("vibewatch: PUBACK deferred until the message is durable");

interface SendPacket {
  _sendPacket(packet: { cmd: "puback"; messageId: number }, cb?: () => void, cbStorePut?: () => void, noStore?: boolean): void;
}

export function installDeferredPuback(client: MqttClient, deliver: DeliverFn): void {
  let connection = 0;
  client.on("close", () => {
    connection++;
  });
  client.on("connect", () => {
    connection++;
  });
  client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void) => {
    const topic = packet.topic;
    const payload = typeof packet.payload === "string" ? new TextEncoder().encode(packet.payload) : packet.payload;
    if (packet.qos !== 1 || packet.messageId === undefined) {
      // QoS 0 needs no ack; QoS 2 is never granted (subscriptions are QoS 1)
      deliver(topic, payload, () => {});
      callback();
      return;
    }
    const mine = connection;
    const messageId = packet.messageId;
    deliver(topic, payload, () => {
      if (mine !== connection || !client.connected) return;
      // noStore: never queue a PUBACK for a later connection
      (client as unknown as SendPacket)._sendPacket({ cmd: "puback", messageId }, undefined, undefined, true);
    });
    callback(DEFERRED);
  };
}
