// Simulated Moddable "crypt" Digest (XS side): the hash runs on the host (node:crypto, in
// simulator/crypt-host.ts), as the SDK's runs in C on the device. Runs under XS only.
import { hostCall } from "../host-bridge.js";
import { asDevice, fromHexBytes, toHexBytes } from "./flash.js";
import { SHA256_MS_PER_BYTE } from "../ota-device-costs.js";

type DigestType = "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512";
const OUTPUT_BYTES: Record<DigestType, number> = { MD5: 16, SHA1: 20, SHA224: 28, SHA256: 32, SHA384: 48, SHA512: 64 };
const BLOCK_BYTES: Record<DigestType, number> = { MD5: 64, SHA1: 64, SHA224: 64, SHA256: 64, SHA384: 128, SHA512: 128 };

export class Digest {
  readonly #type: DigestType;
  #id: number;

  constructor(type: DigestType) {
    if (!(type in OUTPUT_BYTES)) throw new Error(`crypt: unsupported digest ${String(type)}`);
    this.#type = type;
    this.#id = asDevice(0, () => hostCall<number>("crypt.digest.open", { type }));
  }

  get blockSize(): number {
    return BLOCK_BYTES[this.#type];
  }

  get outputSize(): number {
    return OUTPUT_BYTES[this.#type];
  }

  write(message: string | ArrayBuffer): void {
    const bytes = typeof message === "string" ? new Uint8Array(ArrayBuffer.fromString(message)) : new Uint8Array(message);
    asDevice(bytes.length * SHA256_MS_PER_BYTE, () => hostCall("crypt.digest.write", { id: this.#id, hex: toHexBytes(bytes) }));
  }

  update(message: string | ArrayBuffer): void {
    this.write(message);
  }

  close(): ArrayBuffer {
    return asDevice(0, () => fromHexBytes(hostCall<string>("crypt.digest.close", { id: this.#id })).buffer as ArrayBuffer);
  }

  reset(): void {
    this.#id = asDevice(0, () => {
      hostCall("crypt.digest.close", { id: this.#id });
      return hostCall<number>("crypt.digest.open", { type: this.#type });
    });
  }
}

export default Object.freeze({ Digest });
