// The fleet repository contract on SQLite, the embedded default.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { SqliteDatabase } from "../../cloud/fleet/storage/sqlite-database.js";
import { repositoryContract } from "./repository-contract.js";

const dir = mkdtempSync(join(tmpdir(), "vw-fleet-sqlite-"));
let count = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

repositoryContract("SQLite", async () => new SqliteDatabase(join(dir, `fleet-${++count}.sqlite`)));
