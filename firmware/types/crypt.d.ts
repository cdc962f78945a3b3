// Moddable's crypto modules as the OTA agent uses them, mirroring the SDK ($MODDABLE/typings/crypt.d.ts
// for "crypt"; modules/crypt/etc/ecdsa.js, curve.js and modules/crypt/arith/ecp.js, which have no
// typings in the SDK). ECDSA.verify(H, sig) takes the digest and r || s (orderSize bytes each).
declare module "crypt" {
  type DigestType = "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512";
  export class Digest {
    constructor(type: DigestType);
    write(message: string | ArrayBuffer): void;
    close(): ArrayBuffer;
    reset(): void;
    get blockSize(): number;
    get outputSize(): number;
    update(message: string | ArrayBuffer): void;
  }
}

declare module "ecp" {
  class ECPoint {
    constructor(x: bigint, y: bigint, identity?: boolean);
    get X(): bigint;
    get Y(): bigint;
  }
  export { ECPoint as default };
}

declare module "curve" {
  class Curve {
    constructor(name: "secp256r1" | "secp384r1");
    get orderSize(): number;
  }
  export { Curve as default };
}

declare module "ecdsa" {
  import type ECPoint from "ecp";
  import type Curve from "curve";
  class ECDSA {
    /** key: the public point Qu when priv is false */
    constructor(key: ECPoint | bigint, curve: Curve, priv?: boolean);
    sign(H: ArrayBuffer, asn1?: boolean): ArrayBuffer;
    verify(H: ArrayBuffer, sig: ArrayBuffer, asn1?: boolean): boolean;
  }
  export { ECDSA as default };
}
