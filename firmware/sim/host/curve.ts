// Simulated Moddable "curve" (modules/crypt/etc/curve.js): names the curve; the arithmetic is the
// host's (simulator/crypt-host.ts). Runs under XS only.
export default class Curve {
  readonly name: string;

  constructor(name: "secp256r1" | "secp384r1") {
    if (name !== "secp256r1") throw new Error(`curve: the simulator has ${name} only as secp256r1`);
    this.name = name;
  }

  get orderSize(): number {
    return 32;
  }
}
