// What the OTA path costs on the ESP32, as the simulated flash and crypto modules charge it to the
// device's virtual clock (virtual-clock.ts chargeDeviceTime; their own XS work, hex conversion and
// host calls, is simulator work and not charged). Typical SPI NOR figures from a flash datasheet
// (Winbond W25Q32JV: 4 KB sector erase 45 ms typical, 400 ms max; page program 0.7 ms typical per
// 256-byte page) and estimates for the C crypto: none measured on an ESP32 here (firmware/README.md,
// "What could not be verified without a device"). On the ESP32 (no flash auto-suspend) the CPU
// stalls for a sector erase: longer than the sensor FIFO's 10 ms, which is why the downloader
// spaces erases (chunk-downloader.ts eraseIntervalMs).
export const FLASH_SECTOR_ERASE_MS = 45;
export const FLASH_PROGRAM_MS_PER_BYTE = 0.7 / 256;
/** 40 MHz quad I/O, ~20 MB/s */
export const FLASH_READ_MS_PER_BYTE = 0.00005;
/** SHA-256 in C (modules/crypt/digest/kcl/fips180.c), ~4 MB/s: an estimate */
export const SHA256_MS_PER_BYTE = 0.00025;
/** one ECDSA P-256 verification (Moddable's ecdsa.js over its C bigint arithmetic): an estimate */
export const ECDSA_P256_VERIFY_MS = 500;
