/*
 * XS in C binding of the native DSP core (dsp-core.h): host functions the firmware's TypeScript
 * reaches with native("xs_vwdsp_…") (../native-core.ts). The same file links into the ESP32 build
 * (listed in firmware/manifest.json) and into the simulator's XS worker (scripts/build-xs-worker.js
 * registers every `void xs_vwdsp_…(xsMachine *the)` below as a global of the same name).
 *
 * The core's state is a host object whose data is a malloc'ed vw_dsp (outside the XS chunk heap);
 * its destructor frees it. Buffers cross as ArrayBuffers with a byte offset: xsmcGetBuffer* takes
 * an ArrayBuffer or a byte-sized view only, in the SDK and in xsnap's XS alike. A pointer obtained
 * from it is used at once, before anything can allocate in XS (an ArrayBuffer may move in a GC).
 */
#include "xsmc.h"
#include "dsp-core.h"

#include <stdlib.h>

/* bump when the host functions' arguments or the features' layout change */
#define VW_DSP_BINDING_VERSION 1

static void xs_vwdsp_destructor(void *data) {
  if (data == NULL) return;
  vw_dsp_release((vw_dsp *)data);
  free(data);
}

static vw_dsp *dsp_of(xsMachine *the) {
  vw_dsp *dsp = (vw_dsp *)xsmcGetHostDataValidate(xsArg(0), (void *)xs_vwdsp_destructor);
  if (dsp == NULL) xsUnknownError("vwdsp: released");
  return dsp;
}

/* the bytes [byteOffset, byteOffset + byteLength) of the ArrayBuffer in xsArg(argument) */
static void *bytes_of(xsMachine *the, int argument, uint32_t byteOffset, uint32_t byteLength, int writable) {
  void *data = NULL;
  xsUnsignedValue size = 0;
  if (writable) xsmcGetBufferWritable(xsArg(argument), &data, &size);
  else xsmcGetBufferReadable(xsArg(argument), &data, &size);
  if (byteOffset > size || byteLength > size - byteOffset) xsRangeError("vwdsp: %u bytes at %u exceed the buffer (%u)", (unsigned)byteLength, (unsigned)byteOffset, (unsigned)size);
  return (uint8_t *)data + byteOffset;
}

static uint32_t unsigned_of(xsMachine *the, int argument) {
  const xsIntegerValue value = xsmcToInteger(xsArg(argument));
  if (value < 0) xsRangeError("vwdsp: argument %d must be >= 0", argument);
  return (uint32_t)value;
}

/* xs_vwdsp_version() → the binding's version; args: 0 */
void xs_vwdsp_version(xsMachine *the) {
  xsmcSetInteger(xsResult, VW_DSP_BINDING_VERSION);
}

/* xs_vwdsp_create() → a handle; nothing is allocated for the window until configure; args: 0 */
void xs_vwdsp_create(xsMachine *the) {
  xsResult = xsNewHostObject(xs_vwdsp_destructor);
  vw_dsp *dsp = (vw_dsp *)malloc(sizeof(vw_dsp));
  if (dsp == NULL) xsUnknownError("vwdsp: no memory");
  vw_dsp_init(dsp);
  xsmcSetHostData(xsResult, dsp);
}

/* xs_vwdsp_configure(handle, windowSamples, hopSamples, sampleRateHz, countMS2, bandLowHz,
 *   bandHighHz, edgesBuffer: ArrayBuffer of float32, edgeCount) → bytes the core allocated; args: 9 */
void xs_vwdsp_configure(xsMachine *the) {
  vw_dsp *dsp = dsp_of(the);
  vw_dsp_config config;
  config.windowSamples = unsigned_of(the, 1);
  config.hopSamples = unsigned_of(the, 2);
  config.sampleRateHz = (float)xsmcToNumber(xsArg(3));
  config.countMS2 = (float)xsmcToNumber(xsArg(4));
  config.bandLowHz = (float)xsmcToNumber(xsArg(5));
  config.bandHighHz = (float)xsmcToNumber(xsArg(6));
  config.bandEdgeCount = unsigned_of(the, 8);
  if (config.bandEdgeCount > VW_DSP_MAX_BANDS + 1) xsRangeError("vwdsp: at most %d band edges", VW_DSP_MAX_BANDS + 1);
  const float *edges = (const float *)bytes_of(the, 7, 0, config.bandEdgeCount * (uint32_t)sizeof(float), 0);
  for (uint32_t b = 0; b < config.bandEdgeCount; b++) config.bandEdgesHz[b] = edges[b];
  const int status = vw_dsp_configure(dsp, &config);
  if (status == VW_DSP_NO_MEMORY) xsUnknownError("vwdsp: no memory for a %u-sample window", (unsigned)config.windowSamples);
  if (status != VW_DSP_OK) xsRangeError("vwdsp: invalid configuration");
  xsmcSetInteger(xsResult, (xsIntegerValue)dsp->bufferBytes);
}

/* xs_vwdsp_reset(handle): drops the partial window; args: 1 */
void xs_vwdsp_reset(xsMachine *the) {
  vw_dsp_reset(dsp_of(the));
}

/* xs_vwdsp_push(handle, blockBuffer: ArrayBuffer of int16 x,y,z, byteOffset, sampleCount) → samples taken; args: 4 */
void xs_vwdsp_push(xsMachine *the) {
  vw_dsp *dsp = dsp_of(the);
  const uint32_t byteOffset = unsigned_of(the, 2);
  const uint32_t count = unsigned_of(the, 3);
  if (byteOffset & 1) xsRangeError("vwdsp: int16 samples need an even byte offset, got %u", (unsigned)byteOffset);
  const int16_t *xyz = (const int16_t *)bytes_of(the, 1, byteOffset, count * VW_DSP_AXES * (uint32_t)sizeof(int16_t), 0);
  xsmcSetInteger(xsResult, (xsIntegerValue)vw_dsp_push(dsp, xyz, count));
}

/* xs_vwdsp_analyse(handle, featuresBuffer: ArrayBuffer of float32, 3 × VW_DSP_AXIS_STRIDE) → 1 when a
 * window was analysed, 0 when none was ready; args: 2 */
void xs_vwdsp_analyse(xsMachine *the) {
  vw_dsp *dsp = dsp_of(the);
  vw_dsp_features *out = (vw_dsp_features *)bytes_of(the, 1, 0, (uint32_t)sizeof(vw_dsp_features), 1);
  xsmcSetInteger(xsResult, vw_dsp_analyse(dsp, out));
}
