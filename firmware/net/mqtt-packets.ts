// MQTT 3.1.1 control packets the device sends (OASIS MQTT 3.1.1, §3): CONNECT, PUBLISH (QoS 0/1),
// PUBACK, SUBSCRIBE, PINGREQ, DISCONNECT, each encoded into one exactly sized Uint8Array. The device
// never sends QoS 2 (the protocol is at-least-once end to end and storage is idempotent).
// Pure functions: no sockets, no timers; runs under XS and in Node's tests alike.
import { utf8Length, writeUtf8 } from "../../protocol/cbor-encoder.js";

/** control packet types (§2.2.1) */
export const PacketType = Object.freeze({
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  SUBSCRIBE: 8,
  SUBACK: 9,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
});

/** the largest Remaining Length MQTT can express (§2.2.3): 4 bytes of 7 bits */
export const MAX_REMAINING_LENGTH = 268_435_455;
/** strings and topics carry a 16-bit length (§1.5.3) */
const MAX_STRING_BYTES = 0xffff;

export interface WillMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

export interface ConnectFields {
  clientId: string;
  clean: boolean;
  /** seconds, 0..65535; 0 turns keepalive off */
  keepAliveS: number;
  will?: WillMessage;
  user?: string;
  password?: string;
}

export interface PublishFields {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  /** packet id, 1..65535; required at QoS 1 */
  id?: number;
  /** DUP flag: a QoS 1 message sent again (§3.3.1.1) */
  duplicate?: boolean;
}

function remainingLengthBytes(length: number): number {
  if (length < 0 || length > MAX_REMAINING_LENGTH) throw new RangeError(`mqtt: packet of ${length} bytes exceeds MQTT's limit`);
  return length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : 4;
}

/** a packet writer over one exactly sized buffer */
class PacketWriter {
  readonly bytes: Uint8Array;
  #at = 0;

  constructor(firstByte: number, remainingLength: number) {
    this.bytes = new Uint8Array(1 + remainingLengthBytes(remainingLength) + remainingLength);
    this.byte(firstByte);
    let length = remainingLength;
    do {
      let digit = length & 0x7f;
      length >>>= 7;
      if (length > 0) digit |= 0x80;
      this.byte(digit);
    } while (length > 0);
  }

  byte(value: number): void {
    this.bytes[this.#at++] = value;
  }

  u16(value: number): void {
    this.byte(value >> 8);
    this.byte(value & 0xff);
  }

  /** a UTF-8 string with its 16-bit length */
  string(value: string): void {
    const length = utf8Length(value);
    this.u16(length);
    writeUtf8(value, this.bytes, this.#at);
    this.#at += length;
  }

  /** binary data with its 16-bit length (Will message, password) */
  data(value: Uint8Array): void {
    this.u16(value.length);
    this.raw(value);
  }

  raw(value: Uint8Array): void {
    this.bytes.set(value, this.#at);
    this.#at += value.length;
  }

  done(): Uint8Array {
    if (this.#at !== this.bytes.length) throw new Error(`mqtt: packet encoder wrote ${this.#at} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

function stringBytes(value: string, what: string): number {
  const length = utf8Length(value);
  if (length > MAX_STRING_BYTES) throw new RangeError(`mqtt: ${what} is ${length} bytes, more than 65535`);
  return 2 + length;
}

function checkId(id: number | undefined): number {
  if (id === undefined || !Number.isInteger(id) || id < 1 || id > 0xffff) throw new RangeError(`mqtt: packet id must be 1..65535, got ${String(id)}`);
  return id;
}

export function encodeConnect(fields: ConnectFields): Uint8Array {
  if (!Number.isInteger(fields.keepAliveS) || fields.keepAliveS < 0 || fields.keepAliveS > 0xffff) throw new RangeError(`mqtt: keepalive must be 0..65535 s, got ${fields.keepAliveS}`);
  if (fields.password !== undefined && fields.user === undefined) throw new RangeError("mqtt: a password needs a user name (MQTT 3.1.1 §3.1.2.9)");
  const will = fields.will;
  // variable header: "MQTT", level 4, flags, keepalive (§3.1.2)
  let length = 6 + 1 + 1 + 2 + stringBytes(fields.clientId, "client id");
  if (will) {
    length += stringBytes(will.topic, "Will topic") + 2 + will.payload.length;
    if (will.payload.length > MAX_STRING_BYTES) throw new RangeError("mqtt: Will message over 65535 bytes");
  }
  if (fields.user !== undefined) length += stringBytes(fields.user, "user name");
  if (fields.password !== undefined) length += stringBytes(fields.password, "password");
  let flags = fields.clean ? 0x02 : 0;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (fields.password !== undefined) flags |= 0x40;
  if (fields.user !== undefined) flags |= 0x80;
  const writer = new PacketWriter(PacketType.CONNECT << 4, length);
  writer.string("MQTT");
  writer.byte(4);
  writer.byte(flags);
  writer.u16(fields.keepAliveS);
  writer.string(fields.clientId);
  if (will) {
    writer.string(will.topic);
    writer.data(will.payload);
  }
  if (fields.user !== undefined) writer.string(fields.user);
  if (fields.password !== undefined) writer.string(fields.password);
  return writer.done();
}

export function encodePublish(fields: PublishFields): Uint8Array {
  if (fields.topic.length === 0) throw new RangeError("mqtt: publish needs a topic");
  const length = stringBytes(fields.topic, "topic") + (fields.qos > 0 ? 2 : 0) + fields.payload.length;
  const first = (PacketType.PUBLISH << 4) | (fields.duplicate && fields.qos > 0 ? 0x08 : 0) | (fields.qos << 1) | (fields.retain ? 1 : 0);
  const writer = new PacketWriter(first, length);
  writer.string(fields.topic);
  if (fields.qos > 0) writer.u16(checkId(fields.id));
  writer.raw(fields.payload);
  return writer.done();
}

export function encodePuback(id: number): Uint8Array {
  const writer = new PacketWriter(PacketType.PUBACK << 4, 2);
  writer.u16(checkId(id));
  return writer.done();
}

export function encodeSubscribe(id: number, topics: readonly { topic: string; qos: 0 | 1 }[]): Uint8Array {
  if (topics.length === 0) throw new RangeError("mqtt: subscribe needs at least one topic");
  let length = 2;
  for (const item of topics) length += stringBytes(item.topic, "topic filter") + 1;
  // SUBSCRIBE's fixed-header flags are 0b0010 (§3.8.1)
  const writer = new PacketWriter((PacketType.SUBSCRIBE << 4) | 0x02, length);
  writer.u16(checkId(id));
  for (const item of topics) {
    writer.string(item.topic);
    writer.byte(item.qos);
  }
  return writer.done();
}

const PINGREQ_BYTES = Uint8Array.of(PacketType.PINGREQ << 4, 0);
const DISCONNECT_BYTES = Uint8Array.of(PacketType.DISCONNECT << 4, 0);

export function encodePingreq(): Uint8Array {
  return PINGREQ_BYTES.slice();
}

export function encodeDisconnect(): Uint8Array {
  return DISCONNECT_BYTES.slice();
}
