// The device client's MQTT 3.1.1 encoder and parser (firmware/net/mqtt-packets.ts, mqtt-parser.ts)
// checked against mqtt-packet, the parser/generator MQTT.js and Aedes use: what the device sends
// parses there field for field, and what mqtt-packet generates parses here in any split.
import { describe, expect, it } from "vitest";
import mqttPacket from "mqtt-packet";
import { encodeConnect, encodePingreq, encodePuback, encodePublish, encodeSubscribe, encodeDisconnect } from "../../firmware/net/mqtt-packets.js";
import { MqttParser, MqttProtocolError, type InboundPublish } from "../../firmware/net/mqtt-parser.js";

/** mqtt-packet's packet union, loosened for field-by-field checks */
type ParsedPacket = Record<string, unknown> & { cmd: string; payload: Buffer; password: Buffer; will: { payload: Buffer } };

function parseWithMqttPacket(bytes: Uint8Array): ParsedPacket[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: ParsedPacket[] = [];
  const errors: Error[] = [];
  parser.on("packet", (packet) => packets.push(packet as unknown as ParsedPacket));
  parser.on("error", (error: Error) => errors.push(error));
  parser.parse(Buffer.from(bytes));
  if (errors.length > 0) throw errors[0];
  return packets;
}

function generate(packet: Record<string, unknown>): Uint8Array {
  return new Uint8Array(mqttPacket.generate(packet as never, { protocolVersion: 4 }));
}

function collect(limits = { maxPayloadBytes: 1024, maxTopicBytes: 256 }) {
  const seen: unknown[] = [];
  const parser = new MqttParser({
    onConnack: (returnCode, sessionPresent) => seen.push({ cmd: "connack", returnCode, sessionPresent }),
    onPublish: (message: InboundPublish) => seen.push({ cmd: "publish", ...message, payload: message.payload ? Array.from(message.payload) : undefined }),
    onPuback: (id) => seen.push({ cmd: "puback", id }),
    onSuback: (id, granted) => seen.push({ cmd: "suback", id, granted }),
    onPingresp: () => seen.push({ cmd: "pingresp" }),
  }, limits);
  return { parser, seen };
}

describe("the device client's MQTT 3.1.1 packets", () => {
  it("encodes CONNECT with Will, credentials, clean session off and keepalive as mqtt-packet reads them", () => {
    const [packet] = parseWithMqttPacket(encodeConnect({
      clientId: "pump-07", clean: false, keepAliveS: 30, user: "dev", password: "sécret",
      will: { topic: "vw/v1/plant-1/pump-07/status", payload: Uint8Array.of(0xa1, 1, 2), qos: 1, retain: true },
    }));
    expect(packet).toMatchObject({
      cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "pump-07", clean: false, keepalive: 30, username: "dev",
      will: { topic: "vw/v1/plant-1/pump-07/status", qos: 1, retain: true },
    });
    expect(Buffer.from(packet!.password).toString()).toBe("sécret");
    expect([...packet!.will.payload]).toEqual([0xa1, 1, 2]);
  });

  it("encodes PUBLISH at QoS 0 and 1 (retain, DUP, empty payload, 2-byte and 3-byte lengths), PUBACK, SUBSCRIBE, PINGREQ, DISCONNECT", () => {
    const big = Uint8Array.from({ length: 20_000 }, (_, i) => i & 0xff);
    const packets = parseWithMqttPacket(Uint8Array.from([
      ...encodePublish({ topic: "a/b", payload: Uint8Array.of(1, 2, 3), qos: 1, retain: true, id: 513, duplicate: true }),
      ...encodePublish({ topic: "a/ü", payload: new Uint8Array(0), qos: 0, retain: false }),
      ...encodePublish({ topic: "big", payload: big, qos: 1, retain: false, id: 65535 }),
      ...encodePuback(7),
      ...encodeSubscribe(9, [{ topic: "vw/v1/plant-1/pump-07/cfg", qos: 1 }, { topic: "x/#", qos: 0 }]),
      ...encodePingreq(),
      ...encodeDisconnect(),
    ]));
    expect(packets.map((p) => p.cmd)).toEqual(["publish", "publish", "publish", "puback", "subscribe", "pingreq", "disconnect"]);
    expect(packets[0]).toMatchObject({ topic: "a/b", qos: 1, retain: true, dup: true, messageId: 513 });
    expect(packets[1]).toMatchObject({ topic: "a/ü", qos: 0 });
    expect(packets[1]!.payload.length).toBe(0);
    expect(Buffer.compare(packets[2]!.payload, Buffer.from(big))).toBe(0);
    expect(packets[3]).toMatchObject({ messageId: 7 });
    expect(packets[4]).toMatchObject({ messageId: 9, subscriptions: [{ topic: "vw/v1/plant-1/pump-07/cfg", qos: 1 }, { topic: "x/#", qos: 0 }] });
  });

  it("refuses what MQTT cannot carry instead of sending a broken packet", () => {
    expect(() => encodePublish({ topic: "t", payload: new Uint8Array(1), qos: 1, retain: false })).toThrow(/packet id/);
    expect(() => encodePublish({ topic: "", payload: new Uint8Array(1), qos: 0, retain: false })).toThrow(/topic/);
    expect(() => encodeConnect({ clientId: "x", clean: true, keepAliveS: 70_000 })).toThrow(/keepalive/);
    expect(() => encodeConnect({ clientId: "x", clean: true, keepAliveS: 1, password: "p" })).toThrow(/user name/);
  });
});

describe("the device client's parser", () => {
  const stream = Uint8Array.from([
    ...generate({ cmd: "connack", returnCode: 0, sessionPresent: true }),
    ...generate({ cmd: "suback", messageId: 4, granted: [1, 128] }),
    ...generate({ cmd: "publish", topic: "vw/v1/s/d/cfg", payload: Buffer.alloc(0), qos: 1, messageId: 77, retain: true }),
    ...generate({ cmd: "publish", topic: "t", payload: Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff)), qos: 0 }),
    ...generate({ cmd: "puback", messageId: 65535 }),
    ...generate({ cmd: "pingresp" }),
  ]);
  const expected = [
    { cmd: "connack", returnCode: 0, sessionPresent: true },
    { cmd: "suback", id: 4, granted: [1, 128] },
    { cmd: "publish", topic: "vw/v1/s/d/cfg", payload: [], byteLength: 0, qos: 1, retain: true, duplicate: false, id: 77 },
    { cmd: "publish", topic: "t", payload: Array.from({ length: 300 }, (_, i) => i & 0xff), byteLength: 300, qos: 0, retain: false, duplicate: false, id: 0 },
    { cmd: "puback", id: 65535 },
    { cmd: "pingresp" },
  ];

  it("reads mqtt-packet's packets whole, including an empty retained payload", () => {
    const { parser, seen } = collect();
    parser.push(stream);
    expect(seen).toEqual(expected);
    expect(parser.idle).toBe(true);
  });

  it("reads the same from 1-byte pieces and from every split in two", () => {
    const bytewise = collect();
    for (const byte of stream) bytewise.parser.push(Uint8Array.of(byte));
    expect(bytewise.seen).toEqual(expected);
    for (let cut = 1; cut < stream.length; cut += 7) {
      const split = collect();
      split.parser.push(stream.subarray(0, cut));
      split.parser.push(stream.subarray(cut));
      expect(split.seen, `split at ${cut}`).toEqual(expected);
    }
  });

  it("skips a payload over its bound without buffering it, keeping its id to acknowledge, and goes on", () => {
    const { parser, seen } = collect({ maxPayloadBytes: 100, maxTopicBytes: 8 });
    parser.push(generate({ cmd: "publish", topic: "t", payload: Buffer.alloc(5000, 1), qos: 1, messageId: 12 }));
    parser.push(generate({ cmd: "publish", topic: "much/too/long", payload: Buffer.alloc(3), qos: 1, messageId: 13 }));
    parser.push(generate({ cmd: "pingresp" }));
    expect(seen).toEqual([
      { cmd: "publish", topic: "t", payload: undefined, byteLength: 5000, qos: 1, retain: false, duplicate: false, id: 12, discarded: "payload too large" },
      { cmd: "publish", topic: "", payload: undefined, byteLength: 3, qos: 1, retain: false, duplicate: false, id: 13, discarded: "topic too long" },
      { cmd: "pingresp" },
    ]);
  });

  it("throws MqttProtocolError on what a broker may not send", () => {
    const cases: [string, number[]][] = [
      ["QoS 2 publish", [...generate({ cmd: "publish", topic: "t", payload: Buffer.from("x"), qos: 2, messageId: 1 })]],
      ["a CONNECT from the broker", [0x10, 0]],
      ["a 5-byte remaining length", [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
      ["a 3-byte CONNACK", [0x20, 3, 0, 0, 0]],
      ["an oversized SUBACK", [0x90, 100, ...new Array(100).fill(0)]],
    ];
    for (const [what, bytes] of cases) {
      const { parser } = collect();
      expect(() => parser.push(Uint8Array.from(bytes)), what).toThrow(MqttProtocolError);
    }
  });
});
