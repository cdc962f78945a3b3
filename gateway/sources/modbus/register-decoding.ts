// Register maps to requests and raw words to values: which blocks one poll reads (contiguous
// registers of one area merged into one request, within the protocol's limits), and how a value
// is decoded from its words (16/32-bit, signed or not, IEEE 754 float32, word order), scaled and typed.
import type { RegisterConfig } from "./modbus-config.js";

export type Area = RegisterConfig["area"];

/** Registers per read request at most (Modbus: 125 for function 3/4; 2000 bits for 1/2). */
const MAX_REGISTERS_PER_READ = 120;
const MAX_BITS_PER_READ = 2000;

export interface ReadBlock {
  area: Area;
  address: number;
  length: number;
}

/** Words a register of this type spans. */
export function wordsOf(register: RegisterConfig): number {
  if (register.area === "coil" || register.area === "discrete") return 1;
  return register.type === "int32" || register.type === "uint32" || register.type === "float32" ? 2 : 1;
}

/** A type that does not fit the area is a config error (a float32 coil). */
export function checkRegister(register: RegisterConfig): string | null {
  const bitArea = register.area === "coil" || register.area === "discrete";
  if (bitArea && register.type !== "bool") return `${register.field}: a ${register.area} is a bit: type must be bool`;
  if (!bitArea && register.type === "bool") return `${register.field}: type bool needs area coil or discrete`;
  if (register.address + wordsOf(register) - 1 > 65535) return `${register.field}: address ${register.address} + ${wordsOf(register)} words is beyond 65535`;
  return null;
}

/** The read requests of one poll: per area, addresses sorted, contiguous or overlapping spans merged. */
export function planBlocks(registers: readonly RegisterConfig[]): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  const areas: Area[] = ["holding", "input", "coil", "discrete"];
  for (const area of areas) {
    const max = area === "coil" || area === "discrete" ? MAX_BITS_PER_READ : MAX_REGISTERS_PER_READ;
    const spans = registers
      .filter((r) => r.area === area)
      .map((r) => [r.address, r.address + wordsOf(r)] as const)
      .sort((a, b) => a[0] - b[0]);
    let current: ReadBlock | undefined;
    for (const [start, end] of spans) {
      if (current && start <= current.address + current.length && Math.max(end, current.address + current.length) - current.address <= max) {
        current.length = Math.max(end, current.address + current.length) - current.address;
      } else {
        current = { area, address: start, length: end - start };
        blocks.push(current);
      }
    }
  }
  return blocks;
}

/** The raw number of a register from its words (already read), before scale and offset. */
export function rawValue(register: RegisterConfig, words: readonly number[]): number {
  const [first = 0, second = 0] = words;
  switch (register.type) {
    case "uint16":
      return first & 0xffff;
    case "int16":
      return ((first & 0xffff) << 16) >> 16;
    case "bool":
      return first ? 1 : 0;
    default: {
      const [high, low] = register.wordOrder === "little" ? [second, first] : [first, second];
      const bytes = new DataView(new ArrayBuffer(4));
      bytes.setUint16(0, high & 0xffff);
      bytes.setUint16(2, low & 0xffff);
      if (register.type === "uint32") return bytes.getUint32(0);
      if (register.type === "int32") return bytes.getInt32(0);
      return bytes.getFloat32(0);
    }
  }
}

export type DecodedValue = { kind: "float"; value: number } | { kind: "int"; value: number } | { kind: "bool"; value: boolean };

/** Scaled and typed as configured; null for a value that is not a number (a float32 NaN or infinity). */
export function decodeValue(register: RegisterConfig, words: readonly number[]): DecodedValue | null {
  if (register.type === "bool") return { kind: "bool", value: rawValue(register, words) === 1 };
  const value = rawValue(register, words) * register.scale + register.offset;
  if (!Number.isFinite(value)) return null;
  return register.output === "int" ? { kind: "int", value: Math.round(value) } : { kind: "float", value };
}
