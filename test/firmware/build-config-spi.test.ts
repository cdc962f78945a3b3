// Build-time bus selection (mc/config sensor_bus=spi and its pins): I2C stays the default; an SPI
// build that cannot work (a part the driver only speaks I2C to, an input-only pin for an output,
// shared pins, a clock above the ADXL345's 5 MHz) stops at boot naming the key.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readBuildConfig } from "../../firmware/config/build-config.js";
import { repoRoot } from "../../simulator/bundle-firmware.js";

const base = { broker: "mqtt.plant-1.example", device: "pump-07", site: "plant-1" };

describe("build config: the accelerometer's bus", () => {
  it("is I2C unless the build says otherwise", () => {
    expect(readBuildConfig(base)).toMatchObject({ sensorBus: "i2c", spi: undefined });
    expect(readBuildConfig({ ...base, sensor: "adxl345", sensor_bus: "i2c" })).toMatchObject({ sensorBus: "i2c", spi: undefined });
  });

  it("sensor_bus=spi gives the ADXL345 the HSPI pins by default, or the pins the build names (strings from the command line)", () => {
    expect(readBuildConfig({ ...base, sensor: "adxl345", sensor_bus: "spi" })).toMatchObject({
      sensorBus: "spi", spi: { clock: 14, in: 12, out: 13, select: 15, port: 1, hz: 5_000_000 },
    });
    expect(readBuildConfig({ ...base, sensor: "adxl345", sensor_bus: "spi", spi_clock: "18", spi_in: "19", spi_out: "23", spi_select: "5", spi_port: "2", spi_hz: "2000000" }).spi)
      .toEqual({ clock: 18, in: 19, out: 23, select: 5, port: 2, hz: 2_000_000 });
  });

  it("the manifest's config carries the same defaults, and they read as the defaults do", () => {
    const manifest = JSON.parse(readFileSync(resolve(repoRoot, "firmware/manifest.json"), "utf8")) as { config: Record<string, unknown> };
    expect(manifest.config).toMatchObject({ sensor_bus: "i2c", spi_clock: 14, spi_in: 12, spi_out: 13, spi_select: 15, spi_port: 1, spi_hz: 5_000_000 });
    expect(readBuildConfig({ ...manifest.config, ...base, sensor: "adxl345", sensor_bus: "spi" }).spi).toEqual({ clock: 14, in: 12, out: 13, select: 15, port: 1, hz: 5_000_000 });
  });

  it("stops a build that cannot work, naming the key", () => {
    const spi = { ...base, sensor: "adxl345", sensor_bus: "spi" };
    expect(() => readBuildConfig({ ...base, sensor_bus: "can" })).toThrow("build config: sensor_bus=can must be i2c or spi");
    expect(() => readBuildConfig({ ...base, sensor_bus: "spi" })).toThrow("build config: sensor_bus=spi needs sensor=adxl345 (the lis3dh driver speaks I2C only)");
    expect(() => readBuildConfig({ ...spi, spi_clock: "36" })).toThrow(/^build config: spi_clock= must be an integer 0\.\.33, got 36$/);
    expect(() => readBuildConfig({ ...spi, spi_in: "40" })).toThrow(/spi_in=/);
    expect(() => readBuildConfig({ ...spi, spi_select: "12" })).toThrow("build config: spi_clock, spi_in, spi_out and spi_select must be four different pins, got 14, 12, 13, 12");
    expect(() => readBuildConfig({ ...spi, spi_hz: "8000000" })).toThrow(/^build config: spi_hz= must be an integer 100000\.\.5000000, got 8000000$/);
    expect(() => readBuildConfig({ ...spi, spi_port: "0" })).toThrow(/spi_port=/);
  });
});
