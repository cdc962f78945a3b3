/*
 * vibewatch native DSP core: the per-window vibration features of three accelerometer axes, from
 * int16 sensor counts. Portable C99, float arithmetic only (the ESP32's FPU is single precision:
 * a double literal or a libm call without the f suffix moves the maths into software).
 * No XS API here: dsp-binding.c connects it to the firmware's TypeScript; the TypeScript DSP in
 * ../axis-features.ts and ../fft.ts is the reference this core is tested against.
 *
 * Life cycle: vw_dsp_configure() allocates every buffer once (malloc: on the ESP32 that is the
 * IDF heap, outside XS's chunk heap); vw_dsp_push() copies blocks of interleaved x, y, z counts
 * into the window ring and stops at the sample that completes a window; vw_dsp_analyse() then
 * computes that window's features, allocation-free. vw_dsp_release() frees.
 */
#ifndef VW_DSP_CORE_H
#define VW_DSP_CORE_H

#include <stdint.h>

#define VW_DSP_AXES 3
#define VW_DSP_MAX_BANDS 8
#define VW_DSP_MIN_WINDOW 64
#define VW_DSP_MAX_WINDOW 16384

/* the features of one axis, in this order in vw_dsp_features.axis[a] (the binding copies them flat) */
enum {
  VW_DSP_MEAN_MS2 = 0,      /* mean, m/s² (gravity and offset) */
  VW_DSP_RMS_MS2,           /* acceleration RMS with the mean removed, m/s² */
  VW_DSP_PEAK_MS2,          /* largest |a - mean|, m/s² */
  VW_DSP_MAX_ABS_MS2,       /* largest |a| (mean not removed), m/s²: clipping */
  /* kurtosis n·Σd⁴ / (Σd²)², not excess: a sine gives one and a half, Gaussian noise 3; 0 for a flat window */
  VW_DSP_KURTOSIS,
  VW_DSP_VELOCITY_RMS_MM_S, /* velocity RMS over the configured band, mm/s */
  VW_DSP_BANDS,             /* acceleration RMS per band, m/s², VW_DSP_MAX_BANDS slots */
  VW_DSP_AXIS_STRIDE = VW_DSP_BANDS + VW_DSP_MAX_BANDS
};

typedef struct {
  uint32_t windowSamples; /* a power of two, VW_DSP_MIN_WINDOW..VW_DSP_MAX_WINDOW */
  uint32_t hopSamples;    /* samples between window starts, 1..windowSamples */
  float sampleRateHz;
  float countMS2;         /* m/s² per count of the int16 input */
  float bandLowHz;        /* velocity band; the caller caps the high edge at the usable bandwidth */
  float bandHighHz;
  uint32_t bandEdgeCount; /* band edges, Hz, ascending: bandEdgeCount - 1 bands (0 edges: no bands) */
  float bandEdgesHz[VW_DSP_MAX_BANDS + 1];
} vw_dsp_config;

typedef struct {
  float axis[VW_DSP_AXES][VW_DSP_AXIS_STRIDE];
} vw_dsp_features;

typedef struct {
  vw_dsp_config config;
  uint32_t bandCount;
  /* window ring, one per axis, oldest sample at head once filled */
  int16_t *ring[VW_DSP_AXES];
  uint32_t head;
  uint32_t filled;
  uint32_t sinceWindow;
  int windowReady;
  /* FFT working buffers (N each) and twiddles cos/sin(2πk/N), k < N/2 (the cosine doubles as the Hann window) */
  float *re;
  float *im;
  float *cosTable;
  float *sinTable;
  /* 1 / (2πf_k)², rad⁻²·s², for the velocity band's bins lowBin..highBin */
  float *inverseOmegaSquared;
  uint32_t lowBin;
  uint32_t highBin;
  uint32_t bandStartBin[VW_DSP_MAX_BANDS + 1];
  float windowEnergy;     /* Σ w[i]² of the Hann window */
  uint32_t bufferBytes;   /* bytes allocated (the memory budget) */
} vw_dsp;

/* result codes */
#define VW_DSP_OK 0
#define VW_DSP_BAD_CONFIG (-1)
#define VW_DSP_NO_MEMORY (-2)

/* Zeroes a vw_dsp before its first configure. */
void vw_dsp_init(vw_dsp *dsp);
/* (Re)allocates for the configuration and restarts the window; on failure the old state is released. */
int vw_dsp_configure(vw_dsp *dsp, const vw_dsp_config *config);
void vw_dsp_release(vw_dsp *dsp);
/* Drops the partial window (after a FIFO overrun): the next window holds fresh samples only. */
void vw_dsp_reset(vw_dsp *dsp);
/* Copies up to count interleaved x, y, z samples; returns how many it took: it stops after the
 * sample that completes a window, and takes none until vw_dsp_analyse() has analysed it. */
uint32_t vw_dsp_push(vw_dsp *dsp, const int16_t *xyz, uint32_t count);
/* Features of the completed window; returns 0 (nothing done) when no window is ready. */
int vw_dsp_analyse(vw_dsp *dsp, vw_dsp_features *out);

#endif
