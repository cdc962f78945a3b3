// The socket part of device.network.mqtt, one shape for the device and the simulator: plain TCP,
// or TLS over TCP. Either way the TCP class is wrapped by guardSocketCallbacks, so an exception
// thrown inside the socket's callbacks (the TLS handshake refusing a certificate) is a lost
// connection with its reason, never an uncaught exception (on the ESP32: a reboot).
import type { SocketProvider } from "./mqtt-client.js";
import { guardSocketCallbacks } from "./socket-guard.js";

type SocketClass = SocketProvider["io"];

export interface SocketClasses {
  /** embedded:io/socket/tcp */
  TCP: SocketClass;
  /** embedded:io/socket/tcp/tls */
  TLS: SocketClass;
}

/** secure: the TLS socket's options (certificates, serverName); undefined: plain TCP */
export function socketProvider(classes: SocketClasses, secure: Record<string, unknown> | undefined): SocketProvider {
  const GuardedTcp = guardSocketCallbacks(classes.TCP);
  if (!secure) return { io: GuardedTcp };
  return { io: classes.TLS, TCP: { io: GuardedTcp }, secure };
}
