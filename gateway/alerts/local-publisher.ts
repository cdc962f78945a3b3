// Local decisions while offline: device alerts are republished at once on the gateway's local
// alert topic (vw/v1/<site>/_gw/<gw>/alert) for a siren, PLC or HMI, whether or not the cloud is
// reachable; gateway events (offline, online, rate_limited) go to .../_gw/<gw>/event and, as
// "event" records, to the cloud.
import type { GatewayEvent, GatewayEventName } from "../../protocol/batch.js";
import { PAYLOAD_VERSION } from "../../protocol/limits.js";
import { gatewayTopic } from "../../protocol/topics.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import type { NewRecord } from "../buffer/record-buffer.js";

export interface Publisher {
  publish(topic: string, payload: Uint8Array): void;
}

export class LocalPublisher {
  readonly alertTopic: string;
  readonly eventTopic: string;

  constructor(site: string, gateway: string, private readonly mqtt: Publisher) {
    this.alertTopic = gatewayTopic(site, gateway, "alert");
    this.eventTopic = gatewayTopic(site, gateway, "event");
  }

  /** Republishes a device alert as received (its CBOR, which names the device). */
  alert(payload: Uint8Array): void {
    this.mqtt.publish(this.alertTopic, payload);
  }

  /** Publishes an event locally and returns the record that carries it to the cloud. */
  event(device: string, name: GatewayEventName, count: number, detail?: string): NewRecord {
    const event: GatewayEvent = { v: PAYLOAD_VERSION, e: name, n: Math.max(1, Math.min(count, 4294967295)) };
    if (detail) event.m = detail.slice(0, 96);
    const body = cborEncoder.encode(event) as Uint8Array;
    // the local message names the device (the cloud record carries it in the record's "d")
    this.mqtt.publish(this.eventTopic, cborEncoder.encode({ ...event, d: device }) as Uint8Array);
    return { kind: "event", device, body };
  }
}
