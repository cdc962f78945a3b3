// The fleet repository contract on a private PostgreSQL 15 cluster (test/helpers/postgres.ts).
import { afterAll, beforeAll } from "vitest";
import { PostgresDatabase } from "../../cloud/fleet/storage/postgres-database.js";
import { startPostgres, type PostgresHandle } from "../helpers/postgres.js";
import { repositoryContract } from "./repository-contract.js";

let postgres: PostgresHandle;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.dispose();
});

repositoryContract("PostgreSQL", async () => new PostgresDatabase(await postgres.createDatabase("fleet")));
