// Simulated "embedded:io/socket/tcp" (XS side): a real TCP connection opened by the simulator's Node
// side (simulator/tcp-bridge.ts), with the behaviour of the SDK's lwip socket on the ESP32
// (modules/io/socket/lwip/tcp.c) that the MQTT client meets:
// - connecting: the first onWritable(room) says the connection is up; write() before it throws
//   "not ready".
// - write(bytes) throws "would block" when bytes exceed the room left in the send buffer (bounded:
//   sendBufferBytes, 8192 by default as the SDK's ESP32 sdkconfig sets CONFIG_LWIP_TCP_SND_BUF_DEFAULT),
//   returns the room left; the room comes back as the host reports bytes sent, each time with an
//   onWritable(room). After a failure write() returns undefined and sends nothing.
// - received data arrives in the pieces the host delivers (one per TCP read, or split into
//   segmentBytes pieces): each piece is one onReadable(total buffered). read() takes everything,
//   read(n) n bytes (more than buffered throws "invalid"), and returns undefined when empty.
// - an error or the peer's close is delivered by onError() only after the data received before it
//   has been read, as the SDK's socket does.
// Runs under XS only: no Node APIs.
import { hostCall, onHostCommand } from "../host-bridge.js";
import { runAsDevice, setVirtualTimer } from "../virtual-clock.js";

export type TcpEvent =
  | { handle: number; type: "connect"; sendBufferBytes: number }
  | { handle: number; type: "data"; bytes: number[] }
  | { handle: number; type: "sent"; bytes: number }
  | { handle: number; type: "error"; reason: string }
  | { handle: number; type: "tls-refused"; code?: string; message: string };

/** a TLS handshake the host side refused (node:tls's error code and message) */
export interface TlsRefusal {
  code?: string;
  message: string;
}

interface TcpSocketOptions {
  address?: string;
  host?: string;
  port: number;
  /** refusal: simulator only, for the simulated TLS socket above this one (tls-socket.ts) */
  onReadable?: (this: SimulatedTcpSocket, count: number, refusal?: TlsRefusal) => void;
  onWritable?: (this: SimulatedTcpSocket, count: number) => void;
  onError?: (this: SimulatedTcpSocket) => void;
  format?: "buffer" | "number";
  /** simulator only: run TLS on this connection (the host side does the handshake) */
  secure?: Record<string, unknown>;
  [option: string]: unknown;
}

const sockets = new Map<number, SimulatedTcpSocket>();

export default class SimulatedTcpSocket {
  readonly #handle: number;
  readonly #options: TcpSocketOptions;
  #ready = false;
  #failed = false;
  #closed = false;
  #errorPending = false;
  #room = 0;
  #buffers: Uint8Array[] = [];
  #bufferedBytes = 0;
  #format: "buffer" | "number";

  constructor(options: TcpSocketOptions) {
    const address = options.address ?? options.host;
    if (typeof address !== "string" || address.length === 0) throw new Error("invalid address");
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new RangeError("invalid port");
    this.#options = options;
    this.#format = options.format ?? "buffer";
    this.#handle = hostCall<number>("tcp.open", { address, port: options.port, secure: options.secure ? true : undefined, host: options.host });
    sockets.set(this.#handle, this);
  }

  get format(): "buffer" | "number" {
    return this.#format;
  }

  set format(value: "buffer" | "number") {
    if (value !== "buffer" && value !== "number") throw new RangeError("unimplemented");
    this.#format = value;
  }

  read(count?: number): ArrayBuffer | number | undefined {
    if (this.#bufferedBytes === 0) return undefined;
    const wanted = this.#format === "number" ? 1 : count ?? this.#bufferedBytes;
    if (!(wanted > 0) || wanted > this.#bufferedBytes) throw new Error("invalid");
    const out = new Uint8Array(wanted);
    let at = 0;
    while (at < wanted) {
      const first = this.#buffers[0] as Uint8Array;
      const take = Math.min(first.length, wanted - at);
      out.set(first.subarray(0, take), at);
      at += take;
      if (take === first.length) this.#buffers.shift();
      else this.#buffers[0] = first.subarray(take);
    }
    this.#bufferedBytes -= wanted;
    if (this.#bufferedBytes === 0 && this.#errorPending) this.#deliverErrorLater();
    return this.#format === "number" ? (out[0] as number) : (out.buffer as ArrayBuffer);
  }

  write(value: ArrayBuffer | ArrayBufferView | number): number | undefined {
    if (this.#closed) throw new Error("closed");
    if (!this.#ready && !this.#failed) throw new Error("not ready");
    if (this.#failed) return undefined;
    const bytes = typeof value === "number" ? Uint8Array.of(value & 0xff)
      : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
    if (bytes.length > this.#room) throw new Error("would block");
    this.#room -= bytes.length;
    hostCall("tcp.write", { handle: this.#handle, bytes: Array.from(bytes) });
    return this.#room;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sockets.delete(this.#handle);
    hostCall("tcp.close", { handle: this.#handle });
  }

  /** one event from the host side */
  dispatch(event: TcpEvent): void {
    if (this.#closed) return;
    const options = this.#options;
    switch (event.type) {
      case "connect":
        this.#ready = true;
        this.#room = event.sendBufferBytes;
        options.onWritable?.call(this, this.#room);
        return;
      case "data": {
        if (this.#failed) return;
        const bytes = Uint8Array.from(event.bytes);
        this.#buffers.push(bytes);
        this.#bufferedBytes += bytes.length;
        options.onReadable?.call(this, this.#bufferedBytes);
        return;
      }
      case "sent":
        if (this.#failed) return;
        this.#room += event.bytes;
        if (!this.#errorPending) options.onWritable?.call(this, this.#room);
        return;
      case "tls-refused":
        // what the SDK's TLS meets inside onReadable when the handshake's records arrive; the
        // socket is failed from here on (the handshake cannot go on)
        if (this.#failed) return;
        this.#failed = true;
        this.#ready = false;
        options.onReadable?.call(this, 0, { code: event.code, message: event.message });
        return;
      case "error":
        if (this.#failed) return;
        this.#failed = true;
        this.#ready = false;
        this.#errorPending = true;
        if (this.#bufferedBytes === 0) this.#deliverError();
        return;
    }
  }

  #deliverErrorLater(): void {
    // the SDK triggers the error from read() and delivers it on the next turn of the event loop
    setVirtualTimer(() => this.#deliverError(), 0);
  }

  #deliverError(): void {
    if (this.#closed || !this.#errorPending) return;
    this.#errorPending = false;
    this.#options.onError?.call(this);
  }
}

// each event is a callback on the device (lwip's tcpDeliver): its JavaScript costs device time
onHostCommand("tcp.events", (message) => {
  const events = message.events as TcpEvent[];
  for (const event of events) {
    const socket = sockets.get(event.handle);
    if (socket) runAsDevice(() => socket.dispatch(event));
  }
  return events.length;
});
