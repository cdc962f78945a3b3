// Streaming parser of the MQTT 3.1.1 packets a broker sends a QoS 0/1 client: CONNACK, PUBLISH,
// PUBACK, SUBACK, UNSUBACK, PINGRESP. Bytes may arrive in any pieces (one TCP segment or TLS record
// at a time, down to single bytes); the parser keeps its place between pieces.
//
// Memory is bounded whatever the broker sends: a PUBLISH payload is buffered only up to
// maxPayloadBytes and a topic up to maxTopicBytes; anything larger is skipped byte by byte, and
// still reported (onPublish with `discarded`), so the client acknowledges it and the broker does
// not send it again for ever. An empty payload is a message like any other.
// Malformed input (a bad Remaining Length, QoS 3, a packet type a broker may not send) throws
// MqttProtocolError: the connection cannot be trusted after it, and the client closes it.
import { decodeUtf8 } from "../../protocol/cbor-decoder.js";
import { PacketType } from "./mqtt-packets.js";

export class MqttProtocolError extends Error {
  override name = "MqttProtocolError";
}

export interface InboundPublish {
  topic: string;
  /** the payload; undefined when it was larger than maxPayloadBytes (or the topic too long) */
  payload: Uint8Array | undefined;
  /** the payload's length as the broker sent it */
  byteLength: number;
  qos: 0 | 1;
  retain: boolean;
  duplicate: boolean;
  /** packet id (QoS 1) */
  id: number;
  /** why it was not kept, when it was not */
  discarded?: "payload too large" | "topic too long";
}

export interface MqttParserHandlers {
  onConnack(returnCode: number, sessionPresent: boolean): void;
  onPublish(message: InboundPublish): void;
  onPuback(id: number): void;
  onSuback(id: number, granted: number[]): void;
  onPingresp(): void;
}

export interface MqttParserLimits {
  maxPayloadBytes: number;
  maxTopicBytes: number;
}

/** the largest body of a packet other than PUBLISH: a SUBACK for 60 topics */
const MAX_CONTROL_BODY_BYTES = 64;

const enum State {
  Type,
  Length,
  Body,
  TopicLength,
  Topic,
  PacketId,
  Payload,
}

export class MqttParser {
  readonly #handlers: MqttParserHandlers;
  readonly #limits: MqttParserLimits;
  #state = State.Type;
  #type = 0;
  #flags = 0;
  #remaining = 0;
  #lengthShift = 0;
  #body = new Uint8Array(MAX_CONTROL_BODY_BYTES);
  #bodyAt = 0;
  // PUBLISH in progress
  #topicLength = 0;
  #topic: Uint8Array | undefined;
  #topicAt = 0;
  #id = 0;
  #idBytes = 0;
  #payload: Uint8Array | undefined;
  #payloadLength = 0;
  #payloadAt = 0;

  constructor(handlers: MqttParserHandlers, limits: MqttParserLimits) {
    this.#handlers = handlers;
    this.#limits = limits;
  }

  /** true between packets (nothing of a packet received yet) */
  get idle(): boolean {
    return this.#state === State.Type;
  }

  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      switch (this.#state) {
        case State.Type:
          this.#startPacket(bytes[at++] as number);
          break;
        case State.Length:
          this.#lengthByte(bytes[at++] as number);
          break;
        case State.Body: {
          const take = Math.min(this.#remaining, bytes.length - at);
          this.#body.set(bytes.subarray(at, at + take), this.#bodyAt);
          this.#bodyAt += take;
          this.#remaining -= take;
          at += take;
          if (this.#remaining === 0) this.#controlPacket();
          break;
        }
        case State.TopicLength:
          this.#topicLength = (this.#topicLength << 8) | (bytes[at++] as number);
          this.#remaining--;
          if (++this.#idBytes === 2) this.#startTopic();
          else if (this.#remaining === 0) throw new MqttProtocolError("PUBLISH ends inside its topic length");
          break;
        case State.Topic: {
          const take = Math.min(this.#topicLength - this.#topicAt, bytes.length - at);
          const topic = this.#topic;
          if (topic && this.#topicAt < topic.length) topic.set(bytes.subarray(at, at + Math.min(take, topic.length - this.#topicAt)), this.#topicAt);
          this.#topicAt += take;
          this.#remaining -= take;
          at += take;
          if (this.#topicAt === this.#topicLength) this.#afterTopic();
          break;
        }
        case State.PacketId:
          this.#id = (this.#id << 8) | (bytes[at++] as number);
          this.#remaining--;
          if (++this.#idBytes === 2) this.#startPayload();
          break;
        case State.Payload: {
          const take = Math.min(this.#remaining, bytes.length - at);
          this.#payload?.set(bytes.subarray(at, at + take), this.#payloadAt);
          this.#payloadAt += take;
          this.#remaining -= take;
          at += take;
          if (this.#remaining === 0) this.#publishDone();
          break;
        }
      }
    }
  }

  #startPacket(first: number): void {
    this.#type = first >> 4;
    this.#flags = first & 0x0f;
    switch (this.#type) {
      case PacketType.PUBLISH:
        if (((this.#flags >> 1) & 3) > 1) throw new MqttProtocolError(`PUBLISH at QoS ${(this.#flags >> 1) & 3}: this client subscribes at QoS 0/1 only`);
        break;
      case PacketType.CONNACK:
      case PacketType.PUBACK:
      case PacketType.SUBACK:
      case 11: // UNSUBACK
      case PacketType.PINGRESP:
        if (this.#flags !== 0) throw new MqttProtocolError(`packet type ${this.#type} with flags ${this.#flags}`);
        break;
      default:
        throw new MqttProtocolError(`packet type ${this.#type} is not one a broker sends this client`);
    }
    this.#remaining = 0;
    this.#lengthShift = 0;
    this.#state = State.Length;
  }

  #lengthByte(byte: number): void {
    this.#remaining |= (byte & 0x7f) << this.#lengthShift;
    this.#lengthShift += 7;
    if (byte & 0x80) {
      if (this.#lengthShift >= 28) throw new MqttProtocolError("Remaining Length longer than 4 bytes");
      return;
    }
    if (this.#type === PacketType.PUBLISH) {
      this.#topicLength = 0;
      this.#idBytes = 0;
      this.#state = State.TopicLength;
      if (this.#remaining < 2) throw new MqttProtocolError("PUBLISH shorter than its topic length");
      return;
    }
    if (this.#remaining > MAX_CONTROL_BODY_BYTES) throw new MqttProtocolError(`packet type ${this.#type} of ${this.#remaining} bytes`);
    this.#bodyAt = 0;
    this.#state = State.Body;
    if (this.#remaining === 0) this.#controlPacket();
  }

  #controlPacket(): void {
    const body = this.#body;
    const length = this.#bodyAt;
    const u16 = (at: number) => ((body[at] as number) << 8) | (body[at + 1] as number);
    this.#state = State.Type;
    switch (this.#type) {
      case PacketType.CONNACK:
        if (length !== 2) throw new MqttProtocolError(`CONNACK of ${length} bytes`);
        return this.#handlers.onConnack(body[1] as number, ((body[0] as number) & 1) === 1);
      case PacketType.PUBACK:
        if (length !== 2) throw new MqttProtocolError(`PUBACK of ${length} bytes`);
        return this.#handlers.onPuback(u16(0));
      case PacketType.SUBACK: {
        if (length < 3) throw new MqttProtocolError(`SUBACK of ${length} bytes`);
        const granted: number[] = [];
        for (let i = 2; i < length; i++) granted.push(body[i] as number);
        return this.#handlers.onSuback(u16(0), granted);
      }
      case PacketType.PINGRESP:
        if (length !== 0) throw new MqttProtocolError(`PINGRESP of ${length} bytes`);
        return this.#handlers.onPingresp();
      default:
        return; // UNSUBACK: this client never unsubscribes; nothing to do
    }
  }

  #startTopic(): void {
    this.#topicAt = 0;
    this.#topic = this.#topicLength <= this.#limits.maxTopicBytes ? new Uint8Array(this.#topicLength) : undefined;
    if (this.#topicLength > this.#remaining) throw new MqttProtocolError("PUBLISH topic longer than the packet");
    if (this.#topicLength === 0) throw new MqttProtocolError("PUBLISH with an empty topic");
    this.#state = State.Topic;
  }

  #afterTopic(): void {
    this.#id = 0;
    this.#idBytes = 0;
    if (((this.#flags >> 1) & 3) === 1) {
      if (this.#remaining < 2) throw new MqttProtocolError("QoS 1 PUBLISH without a packet id");
      this.#state = State.PacketId;
    } else {
      this.#startPayload();
    }
  }

  #startPayload(): void {
    this.#payloadLength = this.#remaining;
    this.#payloadAt = 0;
    const keep = this.#topic !== undefined && this.#payloadLength <= this.#limits.maxPayloadBytes;
    this.#payload = keep ? new Uint8Array(this.#payloadLength) : undefined;
    this.#state = State.Payload;
    if (this.#remaining === 0) this.#publishDone();
  }

  #publishDone(): void {
    const topicBytes = this.#topic;
    const qos = ((this.#flags >> 1) & 1) as 0 | 1;
    const message: InboundPublish = {
      topic: topicBytes ? decodeTopic(topicBytes) : "",
      payload: this.#payload,
      byteLength: this.#payloadLength,
      qos,
      retain: (this.#flags & 1) === 1,
      duplicate: (this.#flags & 8) === 8,
      id: this.#id,
    };
    if (!topicBytes) message.discarded = "topic too long";
    else if (!this.#payload) message.discarded = "payload too large";
    this.#topic = undefined;
    this.#payload = undefined;
    this.#state = State.Type;
    this.#handlers.onPublish(message);
  }
}

function decodeTopic(bytes: Uint8Array): string {
  try {
    return decodeUtf8(bytes, 0, bytes.length);
  } catch {
    throw new MqttProtocolError("PUBLISH topic is not UTF-8");
  }
}
