// The native DSP core (native/dsp-core.c through native/dsp-binding.c): what the device runs.
// One host call per FIFO block and one per window; the window's numeric work is C in float.
// native("xs_…") is the Moddable form xsc compiles into a host function (xs/includes/xs.d.ts);
// off the device the simulator's XS worker provides the same functions, linked from the same C.
import { AXES, MAX_CORE_BANDS, type DspCore, type DspCoreConfig } from "./dsp-core.js";

/** the binding's version this module speaks (VW_DSP_BINDING_VERSION in native/dsp-binding.c) */
export const NATIVE_BINDING_VERSION = 1;

type Handle = object;
interface Natives {
  version(): number;
  create(): Handle;
  configure(handle: Handle, windowSamples: number, hopSamples: number, sampleRateHz: number, countMS2: number,
    bandLowHz: number, bandHighHz: number, edges: ArrayBuffer, edgeCount: number): number;
  reset(handle: Handle): void;
  push(handle: Handle, block: ArrayBufferLike, byteOffset: number, count: number): number;
  analyse(handle: Handle, features: ArrayBufferLike): number;
}

let natives: Natives | undefined;

/** the host functions, looked up once, on first use (so importing this module costs nothing) */
function bind(): Natives {
  if (natives) return natives;
  try {
    natives = {
      version: native("xs_vwdsp_version"),
      create: native("xs_vwdsp_create"),
      configure: native("xs_vwdsp_configure"),
      reset: native("xs_vwdsp_reset"),
      push: native("xs_vwdsp_push"),
      analyse: native("xs_vwdsp_analyse"),
    } as Natives;
  } catch (error) {
    throw new Error(`dsp: the native DSP core is not linked into this engine (${(error as Error).message}); the device build and the simulator's XS worker link it, elsewhere use dspCore "reference"`);
  }
  const version = natives.version();
  if (version !== NATIVE_BINDING_VERSION) {
    natives = undefined;
    throw new Error(`dsp: native binding version ${version}, this firmware expects ${NATIVE_BINDING_VERSION} (rebuild the XS worker: npm ci)`);
  }
  return natives;
}

export class NativeDspCore implements DspCore {
  readonly kind = "native" as const;
  readonly #natives: Natives;
  readonly #handle: Handle;
  readonly #edges = new Float32Array(MAX_CORE_BANDS + 1);
  #bytes = 0;

  constructor() {
    this.#natives = bind();
    this.#handle = this.#natives.create();
  }

  get bufferBytes(): number {
    return this.#bytes;
  }

  configure(config: DspCoreConfig): number {
    const edges = config.bandEdgesHz;
    if (edges.length > this.#edges.length) throw new RangeError(`dsp: at most ${this.#edges.length} band edges, got ${edges.length}`);
    this.#edges.set(edges);
    this.#bytes = this.#natives.configure(this.#handle, config.windowSamples, config.hopSamples, config.sampleRateHz, config.countMS2,
      config.bandHz[0], config.bandHz[1], this.#edges.buffer, edges.length);
    return this.#bytes;
  }

  reset(): void {
    this.#natives.reset(this.#handle);
  }

  push(block: Int16Array, offset: number, count: number): number {
    return this.#natives.push(this.#handle, block.buffer, block.byteOffset + offset * AXES * 2, count);
  }

  analyse(out: Float32Array): boolean {
    // the binding writes from byte 0 of the buffer: out is always a whole Float32Array (newFeatures())
    return this.#natives.analyse(this.#handle, out.buffer) === 1;
  }
}
