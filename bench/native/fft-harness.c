/*
 * bench:firmware's calibration harness: the native core's own FFT (the static fft() of
 * firmware/dsp/native/dsp-core.c, included here) at one window length, called `calls` times on a
 * two-tone input. bench/firmware.ts compiles it with the XS worker's optimisation (-O3) plus
 * -fno-inline (fft() stays one function) and runs it under
 * `valgrind --tool=callgrind --toggle-collect=fft*`: the collected total over the calls is the
 * FFT's inclusive cost (it calls nothing). Usage: fft-harness N CALLS; prints a checksum.
 */
#include "../../firmware/dsp/native/dsp-core.c"

#include <stdio.h>

int main(int argc, char **argv) {
  const uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 2048;
  const int calls = argc > 2 ? atoi(argv[2]) : 10;
  vw_dsp dsp;
  vw_dsp_init(&dsp);
  vw_dsp_config config = {0};
  config.windowSamples = n;
  config.hopSamples = n;
  config.sampleRateHz = 3200.0f;
  config.countMS2 = 9.80665f / 256.0f;
  config.bandLowHz = 10.0f;
  config.bandHighHz = 1000.0f;
  config.bandEdgeCount = 0;
  if (vw_dsp_configure(&dsp, &config) != VW_DSP_OK) {
    fprintf(stderr, "fft-harness: configure failed for N = %u\n", n);
    return 1;
  }
  double checksum = 0.0;
  for (int c = 0; c < calls; c++) {
    for (uint32_t i = 0; i < n; i++) {
      dsp.re[i] = 77.0f * sinf(VW_TWO_PI * 24.5f * (float)i / 3200.0f) + 13.0f * sinf(VW_TWO_PI * 612.0f * (float)i / 3200.0f);
      dsp.im[i] = 0.0f;
    }
    fft(&dsp, dsp.re, dsp.im, n);
    checksum += dsp.re[16] + dsp.im[n / 3];
  }
  printf("fft-harness: N=%u calls=%d checksum=%.6g\n", n, calls, checksum);
  vw_dsp_release(&dsp);
  return 0;
}
