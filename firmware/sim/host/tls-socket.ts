// Simulated "embedded:io/socket/tcp/tls" (XS side). Built as the SDK's TLSSocket is
// (examples/io/tcp/tlssocket/tlssocket.js): it makes its TCP socket from options.TCP.io (on the device
// the firmware hands it the guarded TCP class: firmware/net/socket-guard.ts) and runs the handshake
// inside that socket's callbacks. The cryptography is done by the simulator's Node side (node:tls,
// with the device's certificate, key and pinned CA), so the MQTT client meets real TLS record
// boundaries and real certificate decisions against the real broker.
// A refused handshake comes back as a "tls-refused" event, which the simulated TCP socket passes up
// as onReadable(0, refusal) (a simulator-only second argument); this socket then throws from inside
// the TCP socket's onReadable with the text the SDK's TLS throws for that case
// ("certificate: auth err" for a chain it cannot verify, "date validation failed" for a
// certificate outside its validity), exactly where the SDK throws it, so whatever does not catch
// it on the device does not catch it here either (an uncaught one restarts the simulated device).
// Runs under XS only: no Node APIs.
import type { TlsRefusal } from "./tcp-socket.js";

interface TcpLike {
  read(count?: number): ArrayBuffer | number | undefined;
  write(bytes: ArrayBuffer): number | undefined;
  close(): void;
}
type TcpClass = new (options: Record<string, unknown>) => TcpLike;

interface TlsSocketOptions {
  TCP: { io: TcpClass };
  secure?: Record<string, unknown>;
  onReadable?: (count: number) => void;
  onWritable?: (count: number) => void;
  onError?: () => void;
  [option: string]: unknown;
}

/** the SDK's texts for what node:tls reports (modules/crypt/ssl/ssl_handshake.js, ssl_cert.js) */
export function sdkTlsErrorText(code: string | undefined, message: string): string {
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return "date validation failed";
  if (code && /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|CHAIN/.test(code)) return "certificate: auth err";
  if (/alert/i.test(message)) return `alert: 2, ${message}`;
  return `handshake: ${message}`;
}

export default class SimulatedTlsSocket {
  readonly #tcp: TcpLike;
  readonly #options: TlsSocketOptions;

  constructor(options: TlsSocketOptions) {
    this.#options = options;
    this.#tcp = new options.TCP.io({
      ...options,
      secure: options.secure ?? {},
      onReadable: (count: number, refusal?: TlsRefusal) => this.#onReadable(count, refusal),
      onWritable: (count: number) => this.#options.onWritable?.(count),
      onError: () => this.#options.onError?.(),
    });
  }

  read(count?: number): ArrayBuffer | undefined {
    return this.#tcp.read(count) as ArrayBuffer | undefined;
  }

  write(bytes: ArrayBuffer): number | undefined {
    return this.#tcp.write(bytes);
  }

  close(): void {
    this.#tcp.close();
  }

  #onReadable(count: number, refusal: TlsRefusal | undefined): void {
    if (refusal) throw new Error(sdkTlsErrorText(refusal.code, refusal.message)); // as the SDK's handshake throws
    this.#options.onReadable?.(count);
  }
}
