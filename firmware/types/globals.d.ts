// Globals the XS engine adds to every Moddable program, as the SDK declares them for TypeScript
// ($MODDABLE/xs/includes/xs.d.ts, which mcconfig puts in "types"). Only what vibewatch code can
// meet is mirrored; names and shapes follow the SDK so that this tsconfig and mcconfig agree.

/** Moddable's debug output (xsbug / serial): strings, numbers and booleans only. */
interface Trace {
  (...log: (string | number | boolean)[]): void;
  left(log: string | ArrayBufferLike, conversation?: string): void;
  center(log: string | ArrayBufferLike, conversation?: string): void;
  right(log: string | ArrayBufferLike, conversation?: string): void;
}
declare const trace: Trace;

/** memory owned by the host (e.g. a flash Resource): has a byteLength, is not an ArrayBuffer */
declare class HostBuffer {
  readonly byteLength: number;
  private brand: boolean;
}

interface ArrayBufferTypes {
  HostBuffer: HostBuffer;
}

/** what ECMA-419 io classes accept as bytes */
interface ByteBufferTypes extends ArrayBufferTypes {
  Uint8Array: Uint8Array;
  Uint8ClampedArray: Uint8ClampedArray;
  Int8Array: Int8Array;
  DataView: DataView;
}
type ByteBuffer = ByteBufferTypes[keyof ByteBufferTypes];

interface StringConstructor {
  /** XS: decodes UTF-8 bytes */
  fromArrayBuffer(buffer: ArrayBufferLike): string;
}

interface ArrayBufferConstructor {
  /** XS: a string's UTF-8 bytes */
  fromString(value: string): ArrayBuffer;
}

// xs host functions: on the device xsc compiles native("name") into the host function `name` (C,
// e.g. firmware/dsp/native/dsp-binding.c); the simulator's bundle defines it as a global lookup.
// The SDK's exact declaration (xs/includes/xs.d.ts:101), so this tsconfig and mcconfig agree.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors the SDK's typing
declare function native(name: string): (...args: any[]) => any;
