// The device's MQTT host provider: device.network.mqtt as Moddable's examples build it
// (examples/io/tcp/mqttclient/config.js), with a TLS socket unless the build asked for plain MQTT.
// TLS: the broker is authenticated against the pinned CA, the device by its client certificate
// (DER resources written by `vibewatch pki`; the certificate's CN is the device id). The secure
// options follow Moddable's SecureSocket ({certificate, clientKey, clientCertificates}); the
// handshake needs roughly 4 KB stack, 10 KB chunk, 6 KB slot heap (documentation/network/securesocket.md).
// Device build only: the simulator supplies device.network.mqtt itself.
import TCP from "embedded:io/socket/tcp";
import UDP from "embedded:io/socket/udp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import Resolver from "embedded:network/dns/resolver/udp";
import MQTTClient from "embedded:network/mqtt/client";
import Resource from "Resource";
import type { BuildConfig } from "../config/build-config.js";
import type { MqttProvider } from "./mqtt-session.js";

/** DNS servers when the network did not hand any out */
const FALLBACK_DNS = ["1.1.1.1", "8.8.8.8"];

export function mqttProvider(config: BuildConfig): MqttProvider {
  const dns = { io: Resolver, servers: FALLBACK_DNS, socket: { io: UDP } };
  if (!config.tls) return { io: MQTTClient, dns, socket: { io: TCP } };
  return {
    io: MQTTClient,
    dns,
    socket: {
      io: TLSSocket,
      TCP: { io: TCP },
      secure: {
        protocolVersion: 0x303, // TLS 1.2
        serverName: config.brokerHost,
        certificate: new Resource(config.tlsCa),
        clientKey: new Resource(config.tlsKey),
        clientCertificates: [new Resource(config.tlsCert)],
      },
    },
  };
}
