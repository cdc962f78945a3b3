// Globals of the xsnap worker that runs the firmware off the device (simulator only: the
// firmware proper never uses them; firmware/sim/ does).
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string);
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
declare function print(...values: unknown[]): void;
declare const performance: { now(): number };
declare function gc(): void;
