// Simulated Moddable "ecdsa" (modules/crypt/etc/ecdsa.js), verification only: verify(H, sig) with
// the digest and r || s, computed by the host (simulator/crypt-host.ts), as the SDK's bigint
// arithmetic runs in C on the device. Runs under XS only.
import { hostCall } from "../host-bridge.js";
import { asDevice, toHexBytes } from "./flash.js";
import { ECDSA_P256_VERIFY_MS } from "../ota-device-costs.js";
import type ECPoint from "./ecp.js";
import type Curve from "./curve.js";

function coordinate(value: bigint): string {
  return value.toString(16).padStart(64, "0");
}

export default class ECDSA {
  readonly #key: ECPoint;
  readonly #curve: Curve;

  constructor(key: ECPoint, curve: Curve, priv = false) {
    if (priv) throw new Error("ecdsa: the simulator verifies only (no private keys on the device)");
    this.#key = key;
    this.#curve = curve;
  }

  sign(): ArrayBuffer {
    throw new Error("ecdsa: the simulator verifies only");
  }

  verify(H: ArrayBuffer, sig: ArrayBuffer, asn1 = false): boolean {
    if (asn1) throw new Error("ecdsa: the simulator takes r || s only");
    return asDevice(ECDSA_P256_VERIFY_MS, () => hostCall<boolean>("crypt.ecdsa.verify", {
      curve: this.#curve.name,
      x: coordinate(this.#key.X),
      y: coordinate(this.#key.Y),
      hash: toHexBytes(new Uint8Array(H)),
      sig: toHexBytes(new Uint8Array(sig)),
    }) === true);
  }
}
