// Host side of the simulated crypto modules (firmware/sim/host/crypt.ts, ecdsa.ts): SHA digests by
// node:crypto, one set per device worker; ECDSA P-256 verification of a digest (what Moddable's
// ecdsa.verify(H, sig) takes) in BigInt arithmetic, because node:crypto verifies messages, not
// digests. test/ota/ecdsa-host.test.ts checks it against node:crypto's signatures.
import { createHash, type Hash } from "node:crypto";

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = { x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n };

type Point = { x: bigint; y: bigint } | null;

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  if (p.x === q.x && mod(p.y + q.y, P) === 0n) return null;
  const lambda = p.x === q.x && p.y === q.y
    ? mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P)
    : mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  const x = mod(lambda * lambda - p.x - q.x, P);
  return { x, y: mod(lambda * (p.x - x) - p.y, P) };
}

function multiply(k: bigint, p: Point): Point {
  let result: Point = null;
  let addend = p;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

const onCurve = (x: bigint, y: bigint): boolean => x < P && y < P && mod(y * y - (x * x * x + A * x + B), P) === 0n;

/** ECDSA P-256: does `signatureHex` (r || s) sign `hashHex` (SHA-256, 32 bytes) under the key (x, y)? */
export function verifyP256Digest(xHex: string, yHex: string, hashHex: string, signatureHex: string): boolean {
  if (signatureHex.length !== 128 || hashHex.length !== 64) return false;
  const x = BigInt(`0x${xHex}`);
  const y = BigInt(`0x${yHex}`);
  if (!onCurve(x, y)) return false;
  const r = BigInt(`0x${signatureHex.slice(0, 64)}`);
  const s = BigInt(`0x${signatureHex.slice(64)}`);
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const e = mod(BigInt(`0x${hashHex}`), N);
  const w = inverse(s, N);
  const point = add(multiply(mod(e * w, N), G), multiply(mod(r * w, N), { x, y }));
  return point !== null && mod(point.x, N) === r;
}

/** answers the crypt.* host calls of one device worker */
export class CryptHost {
  readonly #digests = new Map<number, Hash>();
  #nextId = 1;

  handle(message: Record<string, unknown> & { op: string }): { handled: boolean; value?: unknown } {
    switch (message.op) {
      case "crypt.digest.open": {
        const algorithm = String(message.type).toLowerCase().replace(/^sha(\d)/, "sha$1");
        const id = this.#nextId++;
        this.#digests.set(id, createHash(algorithm === "sha1" ? "sha1" : algorithm));
        return { handled: true, value: id };
      }
      case "crypt.digest.write":
        this.#digest(message.id).update(Buffer.from(String(message.hex), "hex"));
        return { handled: true };
      case "crypt.digest.close": {
        const hex = this.#digest(message.id).digest("hex");
        this.#digests.delete(Number(message.id));
        return { handled: true, value: hex };
      }
      case "crypt.ecdsa.verify":
        return { handled: true, value: verifyP256Digest(String(message.x), String(message.y), String(message.hash), String(message.sig)) };
      default:
        return { handled: false };
    }
  }

  #digest(id: unknown): Hash {
    const digest = this.#digests.get(Number(id));
    if (!digest) throw new Error(`crypt: no open digest ${String(id)}`);
    return digest;
  }
}
