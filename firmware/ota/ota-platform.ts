// The seams between the OTA agent and the device: the inactive app slot (Moddable "flash",
// partition "nextota"), SHA-256 (Moddable "crypt" Digest), ECDSA P-256 (Moddable "ecdsa"), and the
// bootloader's boot record (native/boot-control.c on the ESP32). Injected, so the agent's logic
// runs and is tested anywhere; moddable-platform.ts builds the real one from the SDK's modules.

/** the inactive app partition, as Moddable's Flash opens it */
export interface SlotFlash {
  readonly byteLength: number;
  /** erase unit, bytes (4096 on the ESP32) */
  readonly blockSize: number;
  erase(sector: number): void;
  write(offset: number, bytes: Uint8Array): void;
  read(offset: number, byteLength: number): ArrayBuffer;
}

export interface Sha256 {
  write(bytes: ArrayBuffer): void;
  close(): ArrayBuffer;
}

/** where the device booted from, as the bootloader left it */
export interface RunningImage {
  slot: 0 | 1;
  /** booted pending verification (ESP_OTA_IMG_PENDING_VERIFY): must confirm or roll back */
  pending: boolean;
}

export interface BootControl {
  running(): RunningImage;
  /** boot the inactive slot next time (esp_ota_set_boot_partition), pending verification */
  activateNext(): void;
  /** the running pending image is good (esp_ota_mark_app_valid_cancel_rollback) */
  markValid(): void;
  /** the running pending image is bad: boot the previous one now (esp_ota_mark_app_invalid_rollback_and_reboot) */
  rollBack(): void;
  /** esp_restart() */
  restart(): void;
}

export interface OtaPlatform {
  boot: BootControl;
  openNextSlot(): SlotFlash;
  sha256(): Sha256;
  /** ECDSA P-256 over SHA-256(message), signature r || s (64 bytes), with the build's release key */
  verifySignature(message: Uint8Array, signature: Uint8Array): boolean;
}
