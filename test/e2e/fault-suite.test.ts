// Zero-loss fault suite: the whole chain with real Mosquitto, real InfluxDB, the gateway as its
// own process and devices running the firmware in XS, through every fault of issue 8. After each
// fault the loss audit of InfluxDB must show 0 missing and 0 duplicated (or, where a bound drops,
// exactly the drops the gateway counted). Short outages in CI; `npm run test:soak` runs 60 s ones.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eStack, sleep } from "./helpers/e2e-stack.js";
import type { AuditReport } from "../../cloud/audit/sequence-audit.js";
import { formatAudit } from "../../cloud/audit/sequence-audit.js";

const SOAK = process.env.VW_SOAK === "1";
const OUTAGE_MS = SOAK ? 60_000 : 10_000;
const GATEWAY_KILLS = SOAK ? 5 : 3;
const DEVICES = 3;

function expectClean(report: AuditReport): void {
  expect(report.totals.stored, "something was stored").toBeGreaterThan(0);
  expect(report.totals.duplicated, formatAudit(report)).toBe(0);
  expect(report.totals.missing, formatAudit(report)).toBe(0);
}

describe("fault suite", { timeout: 600_000 }, () => {
  const stack = new E2eStack({ devices: DEVICES, heartbeatS: 5 });
  const storedBefore: number[] = [];

  beforeAll(async () => {
    await stack.start();
    await sleep(5000); // let every device get going
  }, 180_000);

  afterAll(async () => {
    await stack.dispose();
  }, 120_000);

  async function afterFault(fault: string): Promise<AuditReport> {
    const report = await stack.waitForDelivery();
    storedBefore.push(report.totals.stored);
    logAudit(fault, report);
    return report;
  }

  // the audit summary of each fault, in the test log (the closing notes quote it)
  function logAudit(fault: string, report: AuditReport): void {
    console.log(`[fault suite] ${fault}: ${formatAudit(report).split("\n")[0]}`);
  }

  it(`gateway killed with SIGKILL ${GATEWAY_KILLS} times under load`, async () => {
    for (let i = 0; i < GATEWAY_KILLS; i++) {
      await sleep(3000);
      await stack.killGateway();
      await sleep(1000);
      await stack.startGateway();
    }
    expectClean(await afterFault(`gateway killed ${GATEWAY_KILLS} times`));
  });

  it("broker restarted", async () => {
    await stack.broker.stop();
    await sleep(3000);
    await stack.broker.start();
    expectClean(await afterFault("broker restarted"));
  });

  it(`ingest service stopped for ${OUTAGE_MS / 1000} s`, async () => {
    await stack.stopIngest();
    await sleep(OUTAGE_MS);
    const buffered = (await stack.gatewayHealth())?.bufferRecords ?? 0;
    expect(buffered, "the gateway kept what it could not forward").toBeGreaterThan(0);
    await stack.startIngest();
    expectClean(await afterFault(`ingest stopped ${OUTAGE_MS / 1000} s`));
  });

  it(`InfluxDB stopped for ${OUTAGE_MS / 1000} s`, async () => {
    await stack.influx.stop();
    await sleep(OUTAGE_MS);
    await stack.influx.start();
    expectClean(await afterFault(`InfluxDB stopped ${OUTAGE_MS / 1000} s`));
  });

  it(`devices cut off from the broker for ${OUTAGE_MS / 1000} s`, async () => {
    stack.proxy.cut();
    await sleep(OUTAGE_MS);
    const backlog = (await stack.fleet.snapshot()).backlog;
    expect(backlog, "devices kept their messages in their rings").toBeGreaterThan(0);
    stack.proxy.restore();
    expectClean(await afterFault(`devices cut off ${OUTAGE_MS / 1000} s`));
  });

  let droppedByGateway = 0;
  it("gateway disk budget filled while the cloud is away: exactly the counted telemetry is missing, no alert", async () => {
    // a budget of ~6 KB of payloads (about 50 telemetry messages) and no way to forward
    await stack.restartGatewayWithBudget(6 * 1024);
    await stack.stopIngest();
    const deadline = Date.now() + 120_000;
    const dropped = () => stack.gatewayMetric("vw_gateway_dropped_total", 'reason="buffer_full"');
    while ((await dropped()) < 20 && Date.now() < deadline) await sleep(1000);
    // freeze the count: cut the devices off (they keep their messages in their rings), let what is
    // in flight settle, read the counters, then give the budget back and bring the cloud back
    stack.proxy.cut();
    await sleep(2000);
    const droppedTele = await stack.gatewayMetric("vw_gateway_dropped_total", 'kind="tele"');
    const droppedStatus = await stack.gatewayMetric("vw_gateway_dropped_total", 'kind="status"');
    const droppedAlerts = await stack.gatewayMetric("vw_gateway_dropped_total", 'kind="alert"');
    await stack.restartGatewayWithBudget(512 * 1024 * 1024);
    stack.proxy.restore();
    await stack.startIngest();
    droppedByGateway = droppedTele + droppedStatus;
    expect(droppedByGateway, "the budget was filled").toBeGreaterThanOrEqual(20);
    expect(droppedAlerts, "alerts are never dropped").toBe(0);
    const report = await stack.waitForDelivery(60_000);
    storedBefore.push(report.totals.stored);
    logAudit(`gateway disk budget filled (gateway counted ${droppedByGateway} dropped, ${droppedAlerts} alerts)`, report);
    expect(report.totals.duplicated, formatAudit(report)).toBe(0);
    expect(report.totals.missing, formatAudit(report)).toBe(droppedByGateway);
  });

  it("the data keeps growing across faults (the suite is not auditing an idle store)", () => {
    for (let i = 1; i < storedBefore.length; i++) expect(storedBefore[i]).toBeGreaterThan(storedBefore[i - 1]!);
  });

  it("powered off at the end: every message a device sent is stored once", async () => {
    const devices = await stack.fleet.summary();
    await stack.fleet.stop();
    let report = await stack.audit(devices);
    const deadline = Date.now() + 60_000;
    while (report.totals.missing > droppedByGateway && Date.now() < deadline) {
      await sleep(1000);
      report = await stack.audit(devices);
    }
    const sent = devices.reduce((n, d) => n + d.telemetry + d.alerts + d.statuses - d.backlog, 0);
    logAudit(`powered off, ${sent} messages sent`, report);
    // a device may publish between the summary and the power-off: those extra messages are stored
    // too (and counted in the audit's range), so stored can only exceed what the summary saw
    expect(report.totals.stored).toBeGreaterThanOrEqual(sent - droppedByGateway);
    expect(report.totals.duplicated, formatAudit(report)).toBe(0);
    expect(report.totals.missing, formatAudit(report)).toBe(droppedByGateway);
  });
});
