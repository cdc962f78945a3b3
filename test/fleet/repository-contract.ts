// The fleet repository's contract, run on every backend (repository-sqlite.test.ts,
// repository-postgres.test.ts): what the service relies on, whichever database holds the fleet.
import { describe, expect, it } from "vitest";
import { FleetRepository } from "../../cloud/fleet/storage/fleet-repository.js";
import { migrate, MIGRATIONS } from "../../cloud/fleet/storage/migrations.js";
import { desiredConfig } from "../../cloud/fleet/storage/desired-config.js";
import type { SqlDatabase } from "../../cloud/fleet/storage/sql-database.js";

export function repositoryContract(name: string, open: () => Promise<SqlDatabase>): void {
  describe(`fleet repository on ${name}`, () => {
    it("migrates an empty database once; a second start applies nothing", async () => {
      const db = await open();
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
      await db.close();
    });

    it("refuses a database whose schema is newer than the service", async () => {
      const db = await open();
      await migrate(db);
      await db.query("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (999, 'from the future', 0)");
      await expect(migrate(db)).rejects.toThrow(/schema version 999, newer than this service knows/);
      await db.close();
    });

    it("keeps the newest report of each device: an old snapshot replayed later never rolls it back", async () => {
      const repo = await FleetRepository.open(await open());
      expect(await repo.recordReports("plant-a", "gw-1", [{ device: "m1", seenMs: 2000, online: true, fw: "0.3.0", boot: 7, seq: 40, cfgVersion: 3, rssiDbm: -60 }])).toBe(1);
      expect(await repo.recordReports("plant-a", "gw-1", [{ device: "m1", seenMs: 1000, online: false, fw: "0.2.0", boot: 6, seq: 90 }])).toBe(0);
      const [m1] = await repo.listDevices({ site: "plant-a" });
      expect(m1).toMatchObject({ site: "plant-a", device: "m1", gateway: "gw-1", online: true, fw: "0.3.0", boot: 7, seq: 40, cfgVersion: 3, rssiDbm: -60, seenMs: 2000, labels: [] });
      expect(m1?.lastError).toBeUndefined();
      await repo.close();
    });

    it("lists devices per site; labels survive reports", async () => {
      const repo = await FleetRepository.open(await open());
      await repo.setLabels("plant-a", "m2", ["pumps", "line-1", "pumps"]);
      await repo.recordReports("plant-a", "gw-1", [{ device: "m2", seenMs: 5, online: true }, { device: "m1", seenMs: 5, online: true }]);
      await repo.recordReports("plant-b", "gw-2", [{ device: "m1", seenMs: 5, online: false }]);
      expect((await repo.listDevices({ site: "plant-a" })).map((d) => [d.device, d.labels])).toEqual([["m1", []], ["m2", ["line-1", "pumps"]]]);
      expect((await repo.listDevices()).map((d) => `${d.site}/${d.device}`)).toEqual(["plant-a/m1", "plant-a/m2", "plant-b/m1"]);
      await repo.close();
    });

    it("gives every config change a revision above all before it, and merges site < group < device", async () => {
      const repo = await FleetRepository.open(await open());
      const r1 = await repo.setDesiredConfig({ kind: "site", site: "plant-a" }, { hb: 30, r: 1600 }, "alice");
      const r2 = await repo.setDesiredConfig({ kind: "group", group: "pumps" }, { r: 3200 }, "alice");
      const r3 = await repo.setDesiredConfig({ kind: "device", site: "plant-a", device: "m2" }, { hb: 10 }, "bob");
      const r4 = await repo.setDesiredConfig({ kind: "site", site: "plant-b" }, { hb: 99 }, "bob");
      expect([r2 - r1, r3 - r2, r4 - r3]).toEqual([1, 1, 1]);
      const entries = await repo.listDesiredConfigs({ site: "plant-a" });
      expect(entries.map((e) => e.revision)).toEqual([r1, r2, r3]);
      expect(desiredConfig({ site: "plant-a", device: "m2", labels: ["pumps"] }, entries)).toEqual({ v: 1, cv: r3, hb: 10, r: 3200 });
      expect(desiredConfig({ site: "plant-a", device: "m1", labels: [] }, entries)).toEqual({ v: 1, cv: r1, hb: 30, r: 1600 });
      expect(desiredConfig({ site: "plant-c", device: "m1", labels: [] }, await repo.listDesiredConfigs({ site: "plant-c" }))).toBeUndefined();
      // unsetting everything that applies sends the tombstone with a newer cv, not silence
      const r5 = await repo.setDesiredConfig({ kind: "site", site: "plant-a" }, {}, "alice");
      expect(desiredConfig({ site: "plant-a", device: "m1", labels: [] }, await repo.listDesiredConfigs({ site: "plant-a" }))).toEqual({ v: 1, cv: r5, reset: true });
      await repo.close();
    });

    it("draws distinct revisions for concurrent changes", async () => {
      const repo = await FleetRepository.open(await open());
      const revisions = await Promise.all(Array.from({ length: 20 }, (_, i) => repo.setDesiredConfig({ kind: "device", site: "s", device: `d${i}` }, { hb: i + 1 }, "ci")));
      expect(new Set(revisions).size).toBe(20);
      await repo.close();
    });
  });
}
