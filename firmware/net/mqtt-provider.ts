// The device's MQTT host provider: device.network.mqtt for mqtt-session.ts, with a TLS socket
// unless the build asked for plain MQTT. Device build only: the simulator supplies its own
// (simulator/xs-entries/device-entry.ts, over a simulated socket).
// TLS: the broker is authenticated against the pinned CA, the device by its client certificate
// (DER resources written by `vibewatch pki`; the certificate's CN is the device id). The secure
// options follow Moddable's SecureSocket ({certificate, clientKey, clientCertificates}); the
// handshake needs roughly 4 KB stack, 10 KB chunk, 6 KB slot heap (documentation/network/securesocket.md).
// The TLS socket runs its handshake inside the TCP socket's callbacks and throws there on a
// certificate it refuses: the TCP class under it is wrapped by guardSocketCallbacks, so such a
// refusal is a lost connection with its reason (and a backoff), never an uncaught exception (a reboot).
// DNS: the servers the network handed out (DHCP), so a broker named on a plant network without
// outside DNS resolves; public resolvers only when the network gave none.
import TCP from "embedded:io/socket/tcp";
import UDP from "embedded:io/socket/udp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import Resolver from "embedded:network/dns/resolver/udp";
import Resource from "Resource";
import type { BuildConfig } from "../config/build-config.js";
import type { ResolverProvider, SocketProvider } from "./mqtt-client.js";
import type { MqttProvider } from "./mqtt-session.js";
import { socketProvider } from "./socket-provider.js";

/** DNS servers when the network did not hand any out */
export const FALLBACK_DNS = Object.freeze(["1.1.1.1", "8.8.8.8"]);

/** the network's DNS servers (Net.get("DNS")), or the fallbacks when it gave none */
export function dnsServers(fromNetwork: readonly string[] | undefined): string[] {
  const given = (fromNetwork ?? []).filter((server) => typeof server === "string" && server.length > 0 && server !== "0.0.0.0");
  return given.length > 0 ? given.slice() : FALLBACK_DNS.slice();
}

type SocketClass = SocketProvider["io"];

export function mqttProvider(config: BuildConfig, networkDns: readonly string[] | undefined): MqttProvider {
  const dns: ResolverProvider = { io: Resolver as unknown as ResolverProvider["io"], servers: dnsServers(networkDns), socket: { io: UDP } };
  const classes = { TCP: TCP as unknown as SocketClass, TLS: TLSSocket as unknown as SocketClass };
  if (!config.tls) return { socket: socketProvider(classes, undefined), dns };
  return {
    dns,
    socket: socketProvider(classes, {
      protocolVersion: 0x303, // TLS 1.2
      serverName: config.brokerHost,
      certificate: new Resource(config.tlsCa),
      clientKey: new Resource(config.tlsKey),
      clientCertificates: [new Resource(config.tlsCert)],
    }),
  };
}
