// Simulated Moddable "ecp" (modules/crypt/arith/ecp.js): an elliptic-curve point, affine here.
// Runs under XS only.
export default class ECPoint {
  x: bigint;
  y: bigint;

  constructor(x: bigint, y: bigint) {
    this.x = x;
    this.y = y;
  }

  get X(): bigint {
    return this.x;
  }

  get Y(): bigint {
    return this.y;
  }
}
