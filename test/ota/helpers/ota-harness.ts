// Shared by the device-side OTA tests: devices with the OTA agent on, the images, and what each
// device ends on (its last status on the broker + the runner's own view of its flash and boots).
import { bundleFirmware } from "../../../simulator/bundle-firmware.js";
import { DEVICE_ENTRY, DeviceRunner, type DeviceSpec } from "../../../simulator/device-runner.js";
import type { Status } from "../../../protocol/messages.js";
import { deviceSpec, type Recorder } from "../../firmware-net/device-harness.js";
import type { ReleaseKey } from "./test-release.js";

export const SITE = "plant-1";
/** self-test deadline of the test devices, virtual ms */
export const SELF_TEST_DEADLINE_MS = 30_000;

export function otaSpec(deviceId: string, brokerPort: number, key: ReleaseKey, overrides: Partial<DeviceSpec> = {}): DeviceSpec {
  return deviceSpec(deviceId, brokerPort, { ota: { publicKeyHex: key.publicKeyHex, selfTestDeadlineMs: SELF_TEST_DEADLINE_MS, progressIntervalMs: 2000 }, ...overrides });
}

/** the normal firmware image (what slot 0 boots), as bytes */
export async function baseImage(): Promise<Uint8Array> {
  return new TextEncoder().encode(await bundleFirmware(DEVICE_ENTRY));
}

export interface DeviceEnd {
  device: string;
  /** last non-retained status on the broker */
  status: Status | undefined;
  /** slot the boot record names and whether it is still pending */
  activeSlot: 0 | 1;
  pending: boolean;
  /** the active slot holds exactly one of the known images (by name), or "unknown" */
  image: string;
  bricked: string | undefined;
  boots: number;
}

export function deviceEnd(runner: DeviceRunner, recorder: Recorder, images: Record<string, Uint8Array>): DeviceEnd {
  const record = runner.flash.record;
  const active = runner.flash.image(record.active);
  const named = Object.entries(images).find(([, bytes]) => bytes.length === active.length && Buffer.compare(Buffer.from(bytes), Buffer.from(active)) === 0);
  return {
    device: runner.spec.deviceId,
    status: recorder.statuses(runner.spec.deviceId).at(-1),
    activeSlot: record.active,
    pending: record.pending,
    image: named ? named[0] : "unknown",
    bricked: runner.error?.message,
    boots: runner.boots.length,
  };
}

/** per device and boot: the sequence numbers that never arrived (0..highest seen) */
export function sequenceGaps(recorder: Recorder, device: string): { boot: number; seen: number; highest: number; missing: number[] }[] {
  const byBoot = new Map<number, Set<number>>();
  for (const kind of ["tele", "alert", "status"] as const) {
    for (const payload of recorder.of(device, kind)) {
      const { b, s } = payload as { b: number; s: number };
      const seqs = byBoot.get(b) ?? new Set<number>();
      seqs.add(s);
      byBoot.set(b, seqs);
    }
  }
  return [...byBoot.entries()].map(([boot, seqs]) => {
    const highest = Math.max(...seqs);
    const missing: number[] = [];
    for (let s = 0; s <= highest; s++) if (!seqs.has(s)) missing.push(s);
    return { boot, seen: seqs.size, highest, missing };
  });
}
