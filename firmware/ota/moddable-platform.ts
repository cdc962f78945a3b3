// The OTA agent's platform from the Moddable SDK's own modules: the inactive slot through "flash"
// (partition "nextota": esp_ota_get_next_update_partition, modules/files/flash/esp32/flash.c), SHA-256
// through "crypt" (Digest), ECDSA P-256 through "ecdsa" + "curve" + "ecp" (modules/crypt/etc: the same
// code the TLS stack uses), the boot record through boot-control.ts. In the simulator the bundler
// maps these specifiers to firmware/sim/host/ (node:crypto and the simulated flash behind host calls).
import Flash from "flash";
import { Digest } from "crypt";
import ECDSA from "ecdsa";
import Curve from "curve";
import ECPoint from "ecp";
import { bootControl } from "./boot-control.js";
import type { OtaPlatform, SlotFlash } from "./ota-platform.js";

/** bytes of a P-256 coordinate */
const COORDINATE_BYTES = 32;

/** `publicKeyHex`: the release-signing key, uncompressed SEC1 point "04" || x || y, hex (130 characters) */
export function moddablePlatform(publicKeyHex: string): OtaPlatform {
  if (!/^04[0-9a-fA-F]{128}$/.test(publicKeyHex)) throw new Error("ota: release key must be an uncompressed P-256 point (04 || x || y, 130 hex digits)");
  const x = BigInt(`0x${publicKeyHex.slice(2, 2 + 2 * COORDINATE_BYTES)}`);
  const y = BigInt(`0x${publicKeyHex.slice(2 + 2 * COORDINATE_BYTES)}`);
  const verifier = new ECDSA(new ECPoint(x, y), new Curve("secp256r1"), false);
  return {
    boot: bootControl,
    openNextSlot(): SlotFlash {
      const flash = new Flash("nextota");
      return {
        byteLength: flash.byteLength,
        blockSize: flash.blockSize,
        erase: (sector) => flash.erase(sector),
        write: (offset, bytes) => flash.write(offset, bytes.length, exactBuffer(bytes)),
        read: (offset, byteLength) => flash.read(offset, byteLength),
      };
    },
    sha256() {
      const digest = new Digest("SHA256");
      return { write: (bytes) => digest.write(bytes), close: () => digest.close() };
    },
    verifySignature(message, signature) {
      const digest = new Digest("SHA256");
      digest.write(exactBuffer(message));
      try {
        return verifier.verify(digest.close(), exactBuffer(signature));
      } catch {
        return false; // a signature that is not two integers below the order
      }
    },
  };
}

/** an ArrayBuffer holding exactly these bytes (the SDK's modules take whole ArrayBuffers) */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}
