/*
 * Test driver for the native DSP core (firmware/dsp/native/dsp-core.c): the known-answer test
 * compiles it with the core and compares its output with the TypeScript reference.
 *
 *   dsp-core-cli WINDOW HOP RATE_HZ COUNT_MS2 BAND_LOW_HZ BAND_HIGH_HZ [EDGE_HZ ...] < samples
 *
 * stdin: interleaved x, y, z int16 counts, little-endian (decoded byte by byte, so the host's
 * byte order does not matter). They go to vw_dsp_push() in blocks of 32 samples, as the FIFO
 * sampler delivers them. One JSON line per completed window on stdout:
 *   {"window":0,"end":2048,"axes":[{"mean":…,"rms":…,"peak":…,"maxAbs":…,"kurtosis":…,"vrms":…,"bands":[…]},…]}
 * "end" counts the samples pushed up to and including the one that completed the window.
 * Exit 2: bad arguments or input; 1: the core refused the configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dsp-core.h"

#define BLOCK_SAMPLES 32

static int parse_number(const char *text, double *out) {
  char *end = NULL;
  errno = 0;
  *out = strtod(text, &end);
  return errno == 0 && end != text && *end == '\0';
}

static void print_window(uint32_t index, uint64_t end, const vw_dsp_features *f, uint32_t bandCount) {
  static const char *const names[] = { "mean", "rms", "peak", "maxAbs", "kurtosis", "vrms" };
  printf("{\"window\":%lu,\"end\":%llu,\"axes\":[", (unsigned long)index, (unsigned long long)end);
  for (int a = 0; a < VW_DSP_AXES; a++) {
    printf("%s{", a > 0 ? "," : "");
    for (int k = VW_DSP_MEAN_MS2; k < VW_DSP_BANDS; k++) {
      /* explicit casts: varargs promote float to double, which -Wdouble-promotion would flag */
      printf("\"%s\":%.9g,", names[k], (double)f->axis[a][k]);
    }
    printf("\"bands\":[");
    for (uint32_t b = 0; b < bandCount; b++) printf("%s%.9g", b > 0 ? "," : "", (double)f->axis[a][VW_DSP_BANDS + b]);
    printf("]}");
  }
  printf("]}\n");
}

int main(int argc, char **argv) {
  if (argc < 7 || argc - 7 > VW_DSP_MAX_BANDS + 1) {
    fprintf(stderr, "usage: %s WINDOW HOP RATE_HZ COUNT_MS2 BAND_LOW_HZ BAND_HIGH_HZ [EDGE_HZ ...] (at most %d edges)\n", argv[0], VW_DSP_MAX_BANDS + 1);
    return 2;
  }
  double values[6 + VW_DSP_MAX_BANDS + 1];
  for (int i = 1; i < argc; i++) {
    if (!parse_number(argv[i], &values[i - 1])) {
      fprintf(stderr, "argument %d: \"%s\" is not a number\n", i, argv[i]);
      return 2;
    }
  }
  vw_dsp_config config;
  config.windowSamples = (uint32_t)values[0];
  config.hopSamples = (uint32_t)values[1];
  config.sampleRateHz = (float)values[2];
  config.countMS2 = (float)values[3];
  config.bandLowHz = (float)values[4];
  config.bandHighHz = (float)values[5];
  config.bandEdgeCount = (uint32_t)(argc - 7);
  for (uint32_t b = 0; b < config.bandEdgeCount; b++) config.bandEdgesHz[b] = (float)values[6 + b];

  vw_dsp dsp;
  vw_dsp_init(&dsp);
  const int status = vw_dsp_configure(&dsp, &config);
  if (status != VW_DSP_OK) {
    fprintf(stderr, "vw_dsp_configure: %d\n", status);
    return 1;
  }
  const uint32_t bandCount = config.bandEdgeCount > 0 ? config.bandEdgeCount - 1 : 0;

  unsigned char bytes[BLOCK_SAMPLES * VW_DSP_AXES * 2];
  int16_t block[BLOCK_SAMPLES * VW_DSP_AXES];
  vw_dsp_features features;
  uint64_t pushed = 0;
  uint32_t windows = 0;
  size_t got;
  while ((got = fread(bytes, 1, sizeof(bytes), stdin)) > 0) {
    if (got % (VW_DSP_AXES * 2) != 0) {
      fprintf(stderr, "stdin: %lu bytes left, not whole x, y, z int16 samples\n", (unsigned long)got);
      return 2;
    }
    const uint32_t count = (uint32_t)(got / (VW_DSP_AXES * 2));
    for (uint32_t i = 0; i < count * VW_DSP_AXES; i++) {
      block[i] = (int16_t)(uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    }
    uint32_t offset = 0;
    while (offset < count) {
      const uint32_t taken = vw_dsp_push(&dsp, block + offset * VW_DSP_AXES, count - offset);
      offset += taken;
      pushed += taken;
      if (vw_dsp_analyse(&dsp, &features)) {
        print_window(windows++, pushed, &features, bandCount);
      } else if (taken == 0) {
        fprintf(stderr, "vw_dsp_push took no samples and no window was ready\n");
        return 1;
      }
    }
  }
  vw_dsp_release(&dsp);
  return 0;
}
