// Globals the Moddable runtime (and the XS simulator) provide to firmware code.

/** Moddable's debug output (xsbug / serial). */
declare function trace(...values: unknown[]): void;

interface ArrayBufferConstructor {
  /** Moddable: a string's UTF-8 bytes */
  fromString(value: string): ArrayBuffer;
}

interface StringConstructor {
  /** Moddable: decodes UTF-8 bytes */
  fromArrayBuffer(buffer: ArrayBuffer): string;
}
