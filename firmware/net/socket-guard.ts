// An ECMA-419 socket class whose callbacks cannot throw into the runtime.
//
// On the ESP32 an exception that leaves a callback uncaught aborts XS and restarts the chip
// (fxAbort -> esp_restart): the RAM ring is lost. The SDK's TLS socket runs its handshake inside
// the TCP socket's onReadable and throws there when it refuses the broker's certificate
// ("certificate: auth err": expired, rotated, wrong name, clock not set), so a broker certificate
// problem would reboot the device at every connect attempt. Wrapping the TCP class the TLS socket
// is built on (provider: socket.TCP.io) catches that throw: the socket is closed and the error goes
// to options.onSocketException (the MQTT client reports it as a lost connection with its reason,
// and the session backs off), or to onError when no such option was given.
import type { SocketLike } from "./mqtt-client.js";

type SocketClass = new (options: Record<string, unknown>) => SocketLike;
type Callback = (this: unknown, ...args: unknown[]) => void;

export function guardSocketCallbacks(Base: SocketClass): SocketClass {
  return class GuardedSocket implements SocketLike {
    readonly #inner: SocketLike;
    readonly #state = { failed: false };

    constructor(options: Record<string, unknown>) {
      const onException = options.onSocketException as ((error: unknown) => void) | undefined;
      const onError = options.onError as Callback | undefined;
      const state = this.#state;
      // the inner socket, once made (a callback during its constructor finds none to close)
      const made: { socket?: SocketLike } = {};
      const guard = (callback: Callback | undefined): Callback | undefined => {
        if (!callback) return undefined;
        return function guarded(this: unknown, ...args: unknown[]): void {
          if (state.failed) return;
          try {
            callback.apply(this, args);
          } catch (error) {
            state.failed = true;
            try {
              made.socket?.close();
            } catch {
              // already unusable; the failure is reported below either way
            }
            if (onException) onException(error);
            else onError?.call(this);
          }
        };
      };
      const inner = new Base({
        ...options,
        onReadable: guard(options.onReadable as Callback | undefined),
        onWritable: guard(options.onWritable as Callback | undefined),
        onError: guard(onError),
      });
      made.socket = inner;
      this.#inner = inner;
    }

    read(count?: number): ArrayBuffer | undefined {
      return count === undefined ? this.#inner.read() : this.#inner.read(count);
    }

    write(bytes: ArrayBuffer): number | undefined {
      return this.#inner.write(bytes);
    }

    close(): void {
      this.#state.failed = true;
      this.#inner.close();
    }
  };
}
