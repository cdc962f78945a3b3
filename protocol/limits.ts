// Bounds of the wire contract, shared by every tier. Runs under XS: no Node APIs.

/** Payload version carried in every message as key "v". */
export const PAYLOAD_VERSION = 1;

/** Largest device message (any kind) the gateway accepts; telemetry targets <= 128 bytes. */
export const MAX_DEVICE_MESSAGE_BYTES = 1024;

/** Largest config message the device accepts (baseline included). */
export const MAX_CONFIG_MESSAGE_BYTES = 1024;

/** Telemetry size target on the wire (CBOR), from DESIGN.md. */
export const TELEMETRY_TARGET_BYTES = 128;

/** Number of band-energy values in telemetry ("e"). */
export const MAX_BANDS = 8;

/** Records per gateway -> cloud batch. */
export const MAX_BATCH_RECORDS = 5000;

/** Scale of the fixed-point values in payloads: value_on_wire = round(physical * SCALE). */
export const CENTI = 100;
