// XS side of the MQTT client's contract suite (test/firmware-net/mqtt-client-contract.test.ts): the
// device's own client (firmware/net/mqtt-client.ts), unchanged, over the simulated socket
// (embedded:io/socket/tcp -> a real TCP connection from the Node side), driven by host commands:
// open / publish / subscribe / disconnect / close a client, take the events it reported, advance
// virtual time. No Node API here.
import TCP from "embedded:io/socket/tcp";
import { onHostCommand } from "../host-bridge.js";
import { advanceVirtualTime, clearVirtualTimer, setVirtualTimer, virtualNowMs } from "../virtual-clock.js";
import { MqttClient, type SocketProvider } from "../../net/mqtt-client.js";
import { guardSocketCallbacks } from "../../net/socket-guard.js";

export interface OpenCommand {
  name: string;
  host: string;
  port: number;
  clientId: string;
  clean: boolean;
  keepAliveMs: number;
  will?: { topic: string; payload: number[]; qos: 0 | 1; retain: boolean };
  maxInboundBytes: number;
  maxQueuedBytes?: number;
}

export type ClientEvent =
  | { name: string; type: "connected"; sessionPresent: boolean; atMs: number }
  | { name: string; type: "puback"; id: number; atMs: number }
  | { name: string; type: "suback"; id: number; granted: number[]; atMs: number }
  | { name: string; type: "message"; topic: string; payload: number[] | null; byteLength: number; qos: number; retain: boolean; duplicate: boolean; discarded?: string; atMs: number }
  | { name: string; type: "writable"; atMs: number }
  | { name: string; type: "closed"; reason: string; atMs: number };

const clients = new Map<string, MqttClient>();
let events: ClientEvent[] = [];
const socket: SocketProvider = { io: guardSocketCallbacks(TCP as unknown as SocketProvider["io"]) };

onHostCommand("open", (message) => {
  const o = message.options as OpenCommand;
  const name = o.name;
  const at = () => virtualNowMs();
  const client = new MqttClient({
    socket,
    host: o.host,
    port: o.port,
    clientId: o.clientId,
    clean: o.clean,
    keepAliveMs: o.keepAliveMs,
    will: o.will ? { topic: o.will.topic, payload: Uint8Array.from(o.will.payload), qos: o.will.qos, retain: o.will.retain } : undefined,
    maxInboundBytes: o.maxInboundBytes,
    maxQueuedBytes: o.maxQueuedBytes ?? 2048,
    timers: { set: (callback, delayMs) => setVirtualTimer(() => callback(), delayMs), clear: (id) => clearVirtualTimer(id as number), nowMs: virtualNowMs },
    onConnected: (sessionPresent) => events.push({ name, type: "connected", sessionPresent, atMs: at() }),
    onPuback: (id) => events.push({ name, type: "puback", id, atMs: at() }),
    onSuback: (id, granted) => events.push({ name, type: "suback", id, granted, atMs: at() }),
    onMessage: (m) => events.push({
      name, type: "message", topic: m.topic, payload: m.payload ? Array.from(m.payload) : null, byteLength: m.byteLength,
      qos: m.qos, retain: m.retain, duplicate: m.duplicate, ...(m.discarded ? { discarded: m.discarded } : {}), atMs: at(),
    }),
    onWritable: () => events.push({ name, type: "writable", atMs: at() }),
    onClosed: (reason) => events.push({ name, type: "closed", reason, atMs: at() }),
  });
  clients.set(name, client);
  return client.state;
});

onHostCommand("publish", (message) => {
  const client = clients.get(String(message.name));
  if (!client) throw new Error(`no client ${String(message.name)}`);
  return client.publish({
    topic: String(message.topic),
    payload: Uint8Array.from(message.payload as number[]),
    qos: message.qos as 0 | 1,
    retain: message.retain === true,
    id: message.id as number | undefined,
  });
});

onHostCommand("subscribe", (message) => {
  const client = clients.get(String(message.name));
  if (!client) throw new Error(`no client ${String(message.name)}`);
  client.subscribe(message.id as number, message.topics as { topic: string; qos: 0 | 1 }[]);
  return undefined;
});

onHostCommand("disconnect", (message) => {
  clients.get(String(message.name))?.disconnect();
  return undefined;
});

onHostCommand("close", (message) => {
  clients.get(String(message.name))?.close();
  return undefined;
});

onHostCommand("state", (message) => {
  const client = clients.get(String(message.name));
  return client ? { state: client.state, queuedBytes: client.queuedBytes } : null;
});

onHostCommand("events", () => {
  const taken = events;
  events = [];
  return taken;
});

onHostCommand("advance", (message) => {
  advanceVirtualTime(Number(message.ms));
  return virtualNowMs();
});
