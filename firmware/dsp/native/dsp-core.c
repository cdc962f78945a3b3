/*
 * vibewatch native DSP core (see dsp-core.h). The method is the TypeScript reference's
 * (../axis-features.ts, ../fft.ts), in float:
 * - time domain per axis: mean, RMS with the mean removed, peak |a - mean|, max |a|, kurtosis;
 * - x and y share one N-point complex FFT (x real, y imaginary), separated by conjugate symmetry;
 *   z goes through an N/2-point complex FFT of its packed samples and a split step: one N-point and
 *   one N/2-point FFT per window instead of three N-point ones;
 * - velocity by integration in the frequency domain, V(f) = A(f) / (j2πf), over the band's bins
 *   only (Parseval), with the Hann window's energy correction: rms² = 2 Σ|X[k]|² / (N · Σw²).
 * Samples stay counts until the end: one multiplication by countMS2 per feature, not per sample.
 */
#include "dsp-core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VW_TWO_PI 6.28318530717958647692f

static void release_buffers(vw_dsp *dsp) {
  for (int a = 0; a < VW_DSP_AXES; a++) {
    free(dsp->ring[a]);
    dsp->ring[a] = NULL;
  }
  free(dsp->re);
  free(dsp->im);
  free(dsp->cosTable);
  free(dsp->sinTable);
  free(dsp->inverseOmegaSquared);
  dsp->re = dsp->im = dsp->cosTable = dsp->sinTable = dsp->inverseOmegaSquared = NULL;
  dsp->bufferBytes = 0;
}

void vw_dsp_init(vw_dsp *dsp) {
  memset(dsp, 0, sizeof(*dsp));
}

void vw_dsp_release(vw_dsp *dsp) {
  release_buffers(dsp);
  memset(&dsp->config, 0, sizeof(dsp->config));
}

void vw_dsp_reset(vw_dsp *dsp) {
  dsp->head = 0;
  dsp->filled = 0;
  dsp->sinceWindow = 0;
  dsp->windowReady = 0;
}

static int valid_config(const vw_dsp_config *c) {
  uint32_t n = c->windowSamples;
  if (n < VW_DSP_MIN_WINDOW || n > VW_DSP_MAX_WINDOW || (n & (n - 1)) != 0) return 0;
  if (c->hopSamples < 1 || c->hopSamples > n) return 0;
  if (!(c->sampleRateHz > 0.0f) || !(c->countMS2 > 0.0f)) return 0;
  if (!(c->bandLowHz > 0.0f) || !(c->bandHighHz > c->bandLowHz)) return 0;
  if (c->bandEdgeCount == 1 || c->bandEdgeCount > VW_DSP_MAX_BANDS + 1) return 0;
  for (uint32_t b = 1; b < c->bandEdgeCount; b++) {
    if (!(c->bandEdgesHz[b] > c->bandEdgesHz[b - 1])) return 0;
  }
  return 1;
}

static uint32_t clamp_bin(float bin, uint32_t low, uint32_t high) {
  if (!(bin > (float)low)) return low;
  if (bin > (float)high) return high;
  return (uint32_t)bin;
}

int vw_dsp_configure(vw_dsp *dsp, const vw_dsp_config *config) {
  if (!valid_config(config)) return VW_DSP_BAD_CONFIG;
  const uint32_t n = config->windowSamples;
  const uint32_t half = n >> 1;
  const float binHz = config->sampleRateHz / (float)n;
  const uint32_t nyquistBin = half - 1;
  const uint32_t lowBin = clamp_bin(ceilf(config->bandLowHz / binHz), 1, nyquistBin);
  const uint32_t highBin = clamp_bin(floorf(config->bandHighHz / binHz), 0, nyquistBin);
  const uint32_t bandBins = highBin >= lowBin ? highBin - lowBin + 1 : 0;

  if (n != dsp->config.windowSamples || dsp->re == NULL) {
    release_buffers(dsp);
    for (int a = 0; a < VW_DSP_AXES; a++) dsp->ring[a] = (int16_t *)malloc(n * sizeof(int16_t));
    dsp->re = (float *)malloc(n * sizeof(float));
    dsp->im = (float *)malloc(n * sizeof(float));
    dsp->cosTable = (float *)malloc(half * sizeof(float));
    dsp->sinTable = (float *)malloc(half * sizeof(float));
    if (!dsp->ring[0] || !dsp->ring[1] || !dsp->ring[2] || !dsp->re || !dsp->im || !dsp->cosTable || !dsp->sinTable) {
      vw_dsp_release(dsp);
      return VW_DSP_NO_MEMORY;
    }
    float energy = 0.0f;
    for (uint32_t k = 0; k < half; k++) {
      const float angle = (VW_TWO_PI * (float)k) / (float)n;
      dsp->cosTable[k] = cosf(angle);
      dsp->sinTable[k] = sinf(angle);
    }
    /* periodic Hann, w[i] = 0.5 - 0.5·cos(2πi/N): Σw² over the whole window */
    for (uint32_t i = 0; i < n; i++) {
      const float c = i < half ? dsp->cosTable[i] : i == half ? -1.0f : dsp->cosTable[n - i];
      const float w = 0.5f - 0.5f * c;
      energy += w * w;
    }
    dsp->windowEnergy = energy;
  }
  if (dsp->inverseOmegaSquared == NULL || bandBins != dsp->highBin - dsp->lowBin + 1 || bandBins == 0) {
    free(dsp->inverseOmegaSquared);
    dsp->inverseOmegaSquared = (float *)malloc((bandBins > 0 ? bandBins : 1) * sizeof(float));
    if (!dsp->inverseOmegaSquared) {
      vw_dsp_release(dsp);
      return VW_DSP_NO_MEMORY;
    }
  }
  for (uint32_t k = lowBin; k <= highBin; k++) {
    const float omega = VW_TWO_PI * (float)k * binHz;
    dsp->inverseOmegaSquared[k - lowBin] = 1.0f / (omega * omega);
  }
  dsp->lowBin = lowBin;
  dsp->highBin = highBin;
  dsp->bandCount = config->bandEdgeCount > 0 ? config->bandEdgeCount - 1 : 0;
  for (uint32_t b = 0; b < config->bandEdgeCount; b++) {
    dsp->bandStartBin[b] = clamp_bin(ceilf(config->bandEdgesHz[b] / binHz), 1, nyquistBin + 1);
  }
  dsp->config = *config;
  dsp->bufferBytes = (uint32_t)(VW_DSP_AXES * n * sizeof(int16_t) + 2 * n * sizeof(float) + 2 * half * sizeof(float)
    + (bandBins > 0 ? bandBins : 1) * sizeof(float));
  vw_dsp_reset(dsp);
  return VW_DSP_OK;
}

uint32_t vw_dsp_push(vw_dsp *dsp, const int16_t *xyz, uint32_t count) {
  if (dsp->windowReady || dsp->re == NULL) return 0;
  const uint32_t n = dsp->config.windowSamples;
  const uint32_t mask = n - 1;
  const uint32_t hop = dsp->config.hopSamples;
  int16_t *x = dsp->ring[0], *y = dsp->ring[1], *z = dsp->ring[2];
  uint32_t head = dsp->head;
  uint32_t taken = 0;
  while (taken < count) {
    x[head] = xyz[0];
    y[head] = xyz[1];
    z[head] = xyz[2];
    xyz += 3;
    head = (head + 1) & mask;
    taken++;
    if (dsp->filled < n) {
      if (++dsp->filled < n) continue;
    } else if (++dsp->sinceWindow < hop) {
      continue;
    }
    dsp->sinceWindow = 0;
    dsp->windowReady = 1;
    break;
  }
  dsp->head = head;
  return taken;
}

/* In-place radix-2 complex FFT of the first m values (m a power of two <= N; the N-point twiddle
 * table is read with a stride for smaller m). */
static void fft(const vw_dsp *dsp, float *re, float *im, uint32_t m) {
  const uint32_t stride = dsp->config.windowSamples / m;
  const float *cosTable = dsp->cosTable;
  const float *sinTable = dsp->sinTable;
  for (uint32_t i = 1, j = 0; i < m; i++) {
    uint32_t bit = m >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      float t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  for (uint32_t a = 0; a < m; a += 2) {
    const float br = re[a + 1], bi = im[a + 1], ar = re[a], ai = im[a];
    re[a + 1] = ar - br;
    im[a + 1] = ai - bi;
    re[a] = ar + br;
    im[a] = ai + bi;
  }
  for (uint32_t len = 4; len <= m; len <<= 1) {
    const uint32_t halfLen = len >> 1;
    const uint32_t step = (m / len) * stride;
    for (uint32_t k = 0; k < halfLen; k++) {
      const float wr = cosTable[k * step];
      const float wi = -sinTable[k * step];
      for (uint32_t a = k; a < m; a += len) {
        const uint32_t b = a + halfLen;
        const float br = re[b], bi = im[b];
        const float xr = br * wr - bi * wi;
        const float xi = br * wi + bi * wr;
        const float ar = re[a], ai = im[a];
        re[b] = ar - xr;
        im[b] = ai - xi;
        re[a] = ar + xr;
        im[a] = ai + xi;
      }
    }
  }
}

/* Time-domain features of one ring into f (counts scaled to m/s²); the Hann-windowed,
 * mean-removed window, oldest sample first, into out (counts). */
static void time_domain(const vw_dsp *dsp, const int16_t *ring, float *out, float *f) {
  const uint32_t n = dsp->config.windowSamples;
  const uint32_t half = n >> 1;
  const uint32_t mask = n - 1;
  const float *cosTable = dsp->cosTable;
  int32_t sum = 0;
  int32_t maxAbs = 0;
  for (uint32_t i = 0; i < n; i++) {
    const int32_t v = ring[i];
    sum += v;
    const int32_t magnitude = v < 0 ? -v : v;
    if (magnitude > maxAbs) maxAbs = magnitude;
  }
  const float mean = (float)sum / (float)n;
  float m2 = 0.0f, m4 = 0.0f, peak = 0.0f;
  uint32_t index = dsp->head;
  for (uint32_t i = 0; i < n; i++) {
    const float d = (float)ring[index] - mean;
    index = (index + 1) & mask;
    const float d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
    const float magnitude = fabsf(d);
    if (magnitude > peak) peak = magnitude;
    /* cos(2π(N−i)/N) = cos(2πi/N): the half table covers the whole window */
    const float c = i < half ? cosTable[i] : i == half ? -1.0f : cosTable[n - i];
    out[i] = d * (0.5f - 0.5f * c);
  }
  const float scale = dsp->config.countMS2;
  f[VW_DSP_MEAN_MS2] = mean * scale;
  f[VW_DSP_RMS_MS2] = sqrtf(m2 / (float)n) * scale;
  f[VW_DSP_PEAK_MS2] = peak * scale;
  f[VW_DSP_MAX_ABS_MS2] = (float)maxAbs * scale;
  f[VW_DSP_KURTOSIS] = m2 > 0.0f ? ((float)n * m4) / (m2 * m2) : 0.0f;
}

/* Spectra of two real signals sent as one complex FFT (a + jb): 2A[k] = Z[k] + conj Z[N−k],
 * 2B[k] = (Z[k] − conj Z[N−k]) / j; leaves 4|A[k]|² in re[k], 4|B[k]|² in im[k], k = 1 … N/2 − 1. */
static void pair_powers(const vw_dsp *dsp) {
  const uint32_t n = dsp->config.windowSamples;
  float *re = dsp->re, *im = dsp->im;
  for (uint32_t k = 1; k < n >> 1; k++) {
    const float rk = re[k], ik = im[k], rm = re[n - k], imm = im[n - k];
    const float ar = rk + rm, ai = ik - imm, br = ik + imm, bi = rk - rm;
    re[k] = ar * ar + ai * ai;
    im[k] = br * br + bi * bi;
  }
}

/* Spectrum of a real N-point signal from the N/2-point FFT F of its packed samples:
 * 2X[k] = (F[k] + conj F[M−k]) − j·W^k·(F[k] − conj F[M−k]), W = e^(−j2π/N), M = N/2; bins k and
 * M−k together, in place. Leaves 4|X[k]|² in re[k], k = 1 … M − 1. */
static void real_powers(const vw_dsp *dsp) {
  const uint32_t m = dsp->config.windowSamples >> 1;
  float *re = dsp->re, *im = dsp->im;
  const float *cosTable = dsp->cosTable, *sinTable = dsp->sinTable;
  for (uint32_t k = 1; k <= m >> 1; k++) {
    const uint32_t j = m - k;
    const float rk = re[k], ik = im[k], rj = re[j], ij = im[j];
    const float sr = rk + rj, si = ik + ij, dr = rk - rj, di = ik - ij;
    const float ck = cosTable[k], sk = sinTable[k], cj = cosTable[j], sj = sinTable[j];
    const float zr = sr + ck * si - sk * dr;
    const float zi = di - ck * dr - sk * si;
    const float yr = sr + cj * si + sj * dr;
    const float yi = -di + cj * dr - sj * si;
    re[k] = zr * zr + zi * zi;
    re[j] = yr * yr + yi * yi;
  }
}

/* Velocity RMS and band RMS of one axis from the 4|X[k]|² in power[] */
static void spectral_features(const vw_dsp *dsp, const float *power, float *f) {
  const float n = (float)dsp->config.windowSamples;
  const float countMS2 = dsp->config.countMS2;
  /* 4|X|² → one-sided power with the window's energy correction: 0.25 · 2 / (N · Σw²) */
  const float scale = 0.5f / (n * dsp->windowEnergy);
  const float *inverseOmegaSquared = dsp->inverseOmegaSquared;
  const uint32_t low = dsp->lowBin;
  float velocity = 0.0f;
  for (uint32_t k = low; k <= dsp->highBin; k++) velocity += power[k] * inverseOmegaSquared[k - low];
  f[VW_DSP_VELOCITY_RMS_MM_S] = sqrtf(velocity * scale) * countMS2 * 1000.0f;
  for (uint32_t b = 0; b < VW_DSP_MAX_BANDS; b++) {
    float band = 0.0f;
    if (b < dsp->bandCount) {
      for (uint32_t k = dsp->bandStartBin[b]; k < dsp->bandStartBin[b + 1]; k++) band += power[k];
    }
    f[VW_DSP_BANDS + b] = sqrtf(band * scale) * countMS2;
  }
}

int vw_dsp_analyse(vw_dsp *dsp, vw_dsp_features *out) {
  if (!dsp->windowReady) return 0;
  const uint32_t n = dsp->config.windowSamples;
  const uint32_t m = n >> 1;
  float *re = dsp->re, *im = dsp->im;
  /* x and y through one complex FFT */
  time_domain(dsp, dsp->ring[0], re, out->axis[0]);
  time_domain(dsp, dsp->ring[1], im, out->axis[1]);
  fft(dsp, re, im, n);
  pair_powers(dsp);
  spectral_features(dsp, re, out->axis[0]);
  spectral_features(dsp, im, out->axis[1]);
  /* z alone: even samples real, odd imaginary, half-size FFT, then the split step */
  time_domain(dsp, dsp->ring[2], re, out->axis[2]);
  for (uint32_t i = 0; i < m; i++) {
    im[i] = re[2 * i + 1];
    re[i] = re[2 * i];
  }
  fft(dsp, re, im, m);
  real_powers(dsp);
  spectral_features(dsp, re, out->axis[2]);
  dsp->windowReady = 0;
  return 1;
}
