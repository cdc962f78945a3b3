// The agent's decisions (firmware/ota/ota-agent.ts) on a fake platform, a fake transport and a
// manual clock, for what the end-to-end tests cannot pin down: the restart waits until the ring
// is drained; what the previous image reports after each kind of failed switch; a release that was
// rolled back is not tried again; a cut between verify and switch resumes with a re-verify.
import { createHash, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OtaAgent } from "../../firmware/ota/ota-agent.js";
import type { OtaPlatform } from "../../firmware/ota/ota-platform.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import { encodeCbor } from "../../protocol/cbor-encoder.js";
import { OTA_REASONS, otaTopic } from "../../protocol/ota.js";
import { makeRelease, makeReleaseKey, offerBytes, type ReleaseKey } from "./helpers/test-release.js";

const key = makeReleaseKey();

function device(releaseKey: ReleaseKey, running: { slot: 0 | 1; pending: boolean }, prefs = new Map<string, string>(), slot = new Uint8Array(1 << 20).fill(0xff)) {
  let nowMs = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const calls: string[] = [];
  const transport = { ringDepth: 0, requests: [] as { o: number; n: number; rv: string }[] };
  const platform: OtaPlatform = {
    boot: {
      running: () => running,
      activateNext: () => void calls.push("activate"),
      markValid: () => void calls.push("mark-valid"),
      rollBack: () => void calls.push("roll-back"),
      restart: () => void calls.push("restart"),
    },
    openNextSlot: () => ({
      byteLength: slot.length, blockSize: 4096,
      erase: (sector) => slot.fill(0xff, sector * 4096, (sector + 1) * 4096),
      write: (offset, bytes) => slot.set(bytes, offset),
      read: (offset, length) => slot.slice(offset, offset + length).buffer,
    }),
    sha256: () => {
      const hash = createHash("sha256");
      return { write: (bytes) => void hash.update(new Uint8Array(bytes)), close: () => new Uint8Array(hash.digest()).buffer };
    },
    verifySignature: (message, signature) => verify("sha256", message, { key: releaseKey.publicKeyPem, dsaEncoding: "ieee-p1363" }, signature),
  };
  const statuses: string[] = [];
  const agent = new OtaAgent({
    deviceId: "d-1", siteId: "plant-1", bootId: 1, firmwareVersion: running.slot === 0 ? "0.2.0" : "0.3.0", board: "sim", platform,
    preferences: {
      get: (domain, k) => prefs.get(`${domain}/${k}`),
      set: (domain, k, value) => void prefs.set(`${domain}/${k}`, String(value)),
      delete: (domain, k) => void prefs.delete(`${domain}/${k}`),
    },
    scheduler: { set: (fn, ms) => (timers.push({ at: nowMs + ms, fn, id: nextId }), nextId++), clear: (id) => { const i = timers.findIndex((t) => t.id === id); if (i >= 0) timers.splice(i, 1); } },
    nowMs: () => nowMs,
    transport: {
      connected: () => true,
      ringDepth: () => transport.ringDepth,
      ringWaiting: () => 0,
      publish: (_topic, payload) => (transport.requests.push(decodeCborValue(payload) as { o: number; n: number; rv: string }), true),
    },
    onChange: () => statuses.push(`${agent.status().state}|${agent.status().target ?? ""}|${agent.status().error ?? ""}`),
    selfTestDeadlineMs: 10_000,
  });
  const advance = (ms: number) => {
    const until = nowMs + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > until) break;
      timers.shift();
      nowMs = due.at;
      due.fn();
    }
    nowMs = until;
  };
  /** answers every request so far from `image`, until none is left */
  const serve = (image: Uint8Array) => {
    for (let guard = 0; guard < 10_000 && transport.requests.length > 0; guard++) {
      const request = transport.requests.shift()!;
      agent.onMessage(otaTopic("plant-1", "d-1", "otadata"), encodeCbor({ v: 1, rv: request.rv, o: request.o, c: image.slice(request.o, request.o + request.n) }, 2048));
      advance(1000);
    }
  };
  const offer = (bytes: Uint8Array) => agent.onMessage(otaTopic("plant-1", "d-1", "ota"), bytes);
  return { agent, calls, prefs, statuses, transport, advance, serve, offer, slot };
}

const image = new TextEncoder().encode("new image ".repeat(3000));

describe("OTA agent", () => {
  it("switches only after the hash matches, and restarts only once the ring is drained", () => {
    const d = device(key, { slot: 0, pending: false });
    d.agent.start();
    d.offer(offerBytes(makeRelease(key, { image, version: "0.3.0", minVersion: "0.3.0" })));
    d.advance(0);
    d.transport.ringDepth = 3; // telemetry still waiting for its PUBACK
    d.serve(image);
    d.advance(100);
    expect(d.calls).toEqual(["activate"]);
    expect(d.prefs.get("vwota/pend")).toBe("0.3.0|1|0.3.0");
    d.advance(5000);
    expect(d.calls).toEqual(["activate"]); // not while the ring holds messages
    d.transport.ringDepth = 0;
    d.advance(200);
    expect(d.calls).toEqual(["activate", "restart"]);
  });

  it("the new image confirms after its self-test and raises the floor; the old one would refuse 0.2.5 then", () => {
    const prefs = new Map([["vwota/pend", "0.3.0|1|0.3.0"]]);
    const d = device(key, { slot: 1, pending: true }, prefs);
    d.agent.sensorIdentified(true);
    d.agent.start();
    expect(d.agent.status()).toMatchObject({ state: "pending", target: "0.3.0", slot: 1 });
    d.agent.onConnected();
    d.agent.onTelemetryAcknowledged();
    expect(d.calls).toEqual(["mark-valid"]);
    expect(d.agent.status()).toMatchObject({ state: "confirmed", target: "0.3.0" });
    expect(prefs.get("vwota/floor")).toBe("0.3.0");
    expect(prefs.has("vwota/pend")).toBe(false);
    d.offer(offerBytes(makeRelease(key, { image, version: "0.2.5" })));
    expect(d.agent.status()).toMatchObject({ state: "refused", error: `${OTA_REASONS.belowMinimum}: 0.3.0` });
  });

  it("a pending image that never connects rolls back at the deadline with the reason, and the old image reports it", () => {
    const prefs = new Map([["vwota/pend", "0.3.0|1|0.0.0"]]);
    const d = device(key, { slot: 1, pending: true }, prefs);
    d.agent.sensorIdentified(true);
    d.agent.start();
    d.advance(9_999);
    expect(d.calls).toEqual([]);
    d.advance(1);
    expect(d.calls).toEqual(["roll-back"]);
    expect(prefs.get("vwota/why")).toBe(OTA_REASONS.selfTestMqtt);
    // the bootloader boots slot 0 again: the old image reads the marker and the reason
    const old = device(key, { slot: 0, pending: false }, prefs);
    old.agent.start();
    expect(old.agent.status()).toMatchObject({ state: "rolledback", target: "0.3.0", error: OTA_REASONS.selfTestMqtt, slot: 0 });
    // and does not try that release again
    old.offer(offerBytes(makeRelease(key, { image, version: "0.3.0" })));
    old.advance(1000);
    expect(old.transport.requests).toEqual([]);
    expect(old.agent.status().state).toBe("rolledback");
  });

  it("after an image that crashed at boot, the old image reports boot failed", () => {
    const prefs = new Map([["vwota/pend", "0.3.0|1|0.0.0"]]);
    const old = device(key, { slot: 0, pending: false }, prefs);
    old.agent.start();
    expect(old.agent.status()).toMatchObject({ state: "rolledback", error: OTA_REASONS.bootFailed });
  });

  it("a power cut between verify and switch: the retained offer re-verifies from flash and switches", () => {
    const d = device(key, { slot: 0, pending: false });
    d.agent.start();
    const offer = offerBytes(makeRelease(key, { image, version: "0.3.0" }));
    d.offer(offer);
    d.advance(0);
    d.serve(image);
    d.advance(100);
    expect(d.calls[0]).toBe("activate");
    // as if the cut had come just before the switch: marker and "complete" checkpoint in NVS, the
    // image in the slot, the boot record unchanged (the same flash, booted again from slot 0)
    const hashHex = createHash("sha256").update(image).digest("hex");
    const prefs = new Map([["vwota/pend", "0.3.0|1|0.0.0"], ["vwota/dl", `0.3.0|${hashHex}|${image.length}`]]);
    const again = device(key, { slot: 0, pending: false }, prefs, d.slot);
    again.agent.start();
    expect(again.agent.status().state).toBe("idle"); // not "rolled back": the switch never happened
    again.offer(offer);
    again.advance(1000);
    expect(again.transport.requests).toEqual([]); // nothing downloaded again
    expect(again.statuses.some((s) => s.startsWith("verifying"))).toBe(true);
    expect(again.calls).toEqual(["activate", "restart"]);
    // the same cut with a damaged slot: the re-verify refuses to switch
    d.slot[100] = d.slot[100]! ^ 1;
    const damaged = device(key, { slot: 0, pending: false }, new Map([["vwota/pend", "0.3.0|1|0.0.0"], ["vwota/dl", `0.3.0|${hashHex}|${image.length}`]]), d.slot);
    damaged.agent.start();
    damaged.offer(offer);
    damaged.advance(1000);
    expect(damaged.calls).toEqual([]);
    expect(damaged.agent.status()).toMatchObject({ state: "failed", error: OTA_REASONS.badHash });
  });
});
