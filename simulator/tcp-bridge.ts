// Node side of the simulated "embedded:io/socket/tcp" (firmware/sim/host/tcp-socket.ts): each socket
// the firmware opens is a real TCP connection (node:net), or TLS (node:tls) when the firmware's
// socket asks for it, to wherever the firmware says. The device's own MQTT client runs over it
// unchanged, against the real broker.
//
// What happens on the wire comes back to XS as events, queued here until the device runner
// delivers them (worker.call("tcp.events")): connect (with the send buffer's size), data (split
// into segmentBytes pieces when set: a device receives one TCP segment or TLS record at a time),
// sent (bytes handed to the kernel: room in the device's send buffer again), error (exactly one
// per socket, for a failure or the peer's close).
// Settings exist to produce what a device meets and a test cannot otherwise ask of a real
// broker: tiny segments, a small send buffer.
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { TcpEvent } from "../firmware/sim/host/tcp-socket.js";

export interface SocketSettings {
  /** split every read into pieces of at most this many bytes (default: as read) */
  segmentBytes?: number;
  /** the device's send buffer (default 8192, the SDK's ESP32 lwip setting) */
  sendBufferBytes?: number;
  /** client side of TLS for sockets the firmware opens with `secure` (PEM) */
  tls?: { ca: string; cert?: string; key?: string; servername?: string };
}

export const DEFAULT_SEND_BUFFER_BYTES = 8192;

interface Connection {
  socket: Socket;
  failed: boolean;
}

export class TcpBridge {
  readonly #settings: SocketSettings;
  readonly #connections = new Map<number, Connection>();
  readonly #onEvent: (() => void) | undefined;
  #events: TcpEvent[] = [];
  #nextHandle = 1;
  /** counters, for tests and the fleet's live line */
  readonly counters = { opens: 0, connects: 0, errors: 0, bytesIn: 0, bytesOut: 0 };

  constructor(settings: SocketSettings = {}, onEvent?: () => void) {
    if (settings.segmentBytes !== undefined && !(settings.segmentBytes >= 1)) throw new RangeError("tcp bridge: segmentBytes must be >= 1");
    if (settings.sendBufferBytes !== undefined && !(settings.sendBufferBytes >= 1)) throw new RangeError("tcp bridge: sendBufferBytes must be >= 1");
    this.#settings = settings;
    this.#onEvent = onEvent;
  }

  get pendingEvents(): number {
    return this.#events.length;
  }

  /** true while any socket is connected */
  get connected(): boolean {
    for (const connection of this.#connections.values()) if (!connection.failed && !connection.socket.connecting) return true;
    return false;
  }

  takeEvents(): TcpEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /** answers a firmware hostCall whose op starts with "tcp." */
  handle(message: Record<string, unknown> & { op: string }): { handled: boolean; value?: unknown } {
    switch (message.op) {
      case "tcp.open":
        return { handled: true, value: this.#open(message) };
      case "tcp.write":
        this.#write(message.handle as number, message.bytes as number[]);
        return { handled: true };
      case "tcp.close":
        this.#close(message.handle as number);
        return { handled: true };
      default:
        return { handled: false };
    }
  }

  /** tears every socket down at once (power cut: no FIN courtesy beyond what the kernel does) */
  async dispose(): Promise<void> {
    for (const connection of this.#connections.values()) {
      connection.failed = true;
      connection.socket.destroy();
    }
    this.#connections.clear();
    this.#events = [];
  }

  #push(event: TcpEvent): void {
    this.#events.push(event);
    this.#onEvent?.();
  }

  #open(message: Record<string, unknown>): number {
    const handle = this.#nextHandle++;
    const address = String(message.address);
    const port = Number(message.port);
    const tls = this.#settings.tls;
    let socket: Socket;
    const secure = message.secure === true;
    if (secure && !tls) {
      throw new Error("tcp bridge: the firmware opened a TLS socket but this simulated board has no TLS material (DeviceSpec.socket.tls)");
    }
    if (secure && tls) {
      // SNI takes a host name only; an address is checked against the certificate's IP names
      const name = tls.servername ?? (message.host as string | undefined) ?? address;
      socket = tlsConnect({ host: address, port, ca: tls.ca, cert: tls.cert, key: tls.key, servername: isIP(name) ? undefined : name });
    } else {
      socket = netConnect({ host: address, port });
    }
    socket.setNoDelay(true);
    const connection: Connection = { socket, failed: false };
    this.#connections.set(handle, connection);
    this.counters.opens++;
    const sendBufferBytes = this.#settings.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES;
    let handshakeDone = !secure;
    socket.once(secure ? "secureConnect" : "connect", () => {
      handshakeDone = true;
      if (connection.failed) return;
      this.counters.connects++;
      this.#push({ handle, type: "connect", sendBufferBytes });
    });
    socket.on("data", (data: Buffer) => {
      if (connection.failed) return;
      this.counters.bytesIn += data.length;
      const piece = this.#settings.segmentBytes ?? data.length;
      for (let at = 0; at < data.length; at += piece) this.#push({ handle, type: "data", bytes: Array.from(data.subarray(at, at + piece)) });
    });
    const fail = (reason: string) => {
      if (connection.failed) return;
      connection.failed = true;
      this.counters.errors++;
      this.#push({ handle, type: "error", reason });
    };
    socket.on("error", (error: Error & { code?: string }) => {
      if (handshakeDone || connection.failed) return fail(error.message);
      // the TLS handshake refused: the device's TLS meets this inside onReadable (tls-socket.ts)
      connection.failed = true;
      this.counters.errors++;
      this.#push({ handle, type: "tls-refused", code: error.code, message: error.message });
    });
    socket.on("end", () => fail("closed by the peer"));
    socket.on("close", () => {
      fail("closed");
      this.#connections.delete(handle);
    });
    return handle;
  }

  #write(handle: number, bytes: number[]): void {
    const connection = this.#connections.get(handle);
    if (!connection || connection.failed) return;
    const data = Buffer.from(bytes);
    this.counters.bytesOut += data.length;
    connection.socket.write(data, (error) => {
      if (!error && !connection.failed) this.#push({ handle, type: "sent", bytes: data.length });
    });
  }

  #close(handle: number): void {
    const connection = this.#connections.get(handle);
    if (!connection) return;
    this.#connections.delete(handle);
    connection.failed = true;
    // what was written goes out, then FIN (lwip's tcp_close); a peer that never reads cannot hold it
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), 2000).unref();
  }
}
