// Guards against alerting rules that load but never page, or page for nothing (issue 19): rules
// promtool refuses, a `for:` or threshold that fires on an everyday blip or never fires in the
// failure it is for, an alert nobody unit-tested, a Kubernetes copy of the rules that drifted from
// the files, monitors that select no target, and a setup that does not install promtool.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { findObject, kustomizeResources, readText, readYaml, readYamlDocuments, repoRoot, type Json } from "./helpers/manifests.js";

const promDir = join(repoRoot, "manifests/prometheus");
const RULE_FILES = ["vibewatch-gateway.rules.yml", "vibewatch-ingest.rules.yml"];
const UNIT_TESTS = "vibewatch-rules.test.yml";
/** the job names the rules select on, and the jobs the scrape config and the monitors produce */
const JOBS = ["vibewatch-gateway", "vibewatch-ingest"];

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Group {
  name: string;
  rules: Rule[];
}
interface UnitTest {
  name: string;
  alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts: unknown[] }>;
}

function promtool(args: string[], cwd = promDir): { status: number | null; output: string } {
  const result = spawnSync("promtool", args, { cwd, encoding: "utf8" });
  if (result.error) throw new Error(`promtool: ${result.error.message} (scripts/setup installs Debian's prometheus package)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const groupsOf = (file: string): Group[] => (readYaml(join(promDir, file)) as { groups: Group[] }).groups;
const allRules = (): Rule[] => RULE_FILES.flatMap(groupsOf).flatMap((group) => group.rules);

describe("Prometheus alerting rules (manifests/prometheus/)", () => {
  it("pass promtool check rules", () => {
    const result = promtool(["check", "rules", ...RULE_FILES]);
    expect(result.status, result.output).toBe(0);
  });

  it("fire each alert in the failure it is for, after its `for:`, and none on a healthy site with everyday blips (promtool test rules)", () => {
    const result = promtool(["test", "rules", UNIT_TESTS]);
    expect(result.status, result.output).toBe(0);
  });

  it("unit-test every alert both ways: firing in a failure case, quiet on the healthy site", () => {
    const tests = (readYaml(join(promDir, UNIT_TESTS)) as { rule_files: string[]; tests: UnitTest[] });
    expect(tests.rule_files).toEqual(RULE_FILES);
    const healthy = tests.tests.find((test) => test.name.startsWith("healthy"));
    const cases = tests.tests.flatMap((test) => (test.alert_rule_test ?? []).map((entry) => ({ test: test.name, ...entry })));
    const alerts = allRules().map((rule) => rule.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(12);
    for (const alert of alerts) {
      expect(cases.some((entry) => entry.alertname === alert && entry.exp_alerts.length > 0), `${alert} fires in some test`).toBe(true);
      expect((healthy?.alert_rule_test ?? []).some((entry) => entry.alertname === alert && entry.exp_alerts.length === 0), `${alert} stays quiet on the healthy site`).toBe(true);
    }
  });

  it("give each alert a severity, a summary and a runbook section in the README", () => {
    const readme = readText(join(promDir, "README.md"));
    for (const rule of allRules()) {
      expect(["critical", "warning"], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.runbook).toBe(`manifests/prometheus/README.md#${rule.alert.toLowerCase()}`);
      expect(readme, `README.md has a "### ${rule.alert}" section`).toMatch(new RegExp(`^### ${rule.alert}$`, "m"));
    }
  });

  it("select the jobs the scrape config defines, and pass promtool check config with it", () => {
    const jobsInRules = new Set(allRules().flatMap((rule) => [...rule.expr.matchAll(/job="([^"]+)"/g)].map((match) => match[1])));
    expect([...jobsInRules].sort()).toEqual(JOBS);
    const config = readYaml(join(promDir, "prometheus.yml")) as { rule_files: string[]; scrape_configs: Array<{ job_name: string }> };
    expect(config.scrape_configs.map((job) => job.job_name).sort()).toEqual(JOBS);
    expect(config.rule_files).toEqual(RULE_FILES);
    const result = promtool(["check", "config", "prometheus.yml"]);
    expect(result.status, result.output).toBe(0);
  });
});

describe("Prometheus Operator objects (manifests/prometheus/k8s/)", () => {
  const k8s = join(promDir, "k8s");

  it("carry the very groups of the rule files in the PrometheusRule, which promtool accepts", () => {
    const [rule] = readYamlDocuments(join(k8s, "prometheusrule.yaml")) as Array<{ kind: string; spec: { groups: Group[] } }>;
    expect(rule?.kind).toBe("PrometheusRule");
    expect(rule?.spec.groups).toEqual(RULE_FILES.flatMap(groupsOf));
    const dir = mkdtempSync(join(tmpdir(), "vw-promrule-"));
    try {
      writeFileSync(join(dir, "rules.yml"), stringify({ groups: rule?.spec.groups }));
      const result = promtool(["check", "rules", "rules.yml"], dir);
      expect(result.status, result.output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("scrape the ingest Service and the gateway pods on ports they expose, as the jobs the rules select", () => {
    const monitors = readYamlDocuments(join(k8s, "monitors.yaml")) as Array<{ kind: string; metadata: { name: string; namespace: string }; spec: Json }>;
    const { kustomization, objects } = kustomizeResources();
    const service = findObject(objects, "Service", "vibewatch-ingest") as unknown as { metadata: { labels: Record<string, string> }; spec: { ports: Array<{ name: string }> } };
    const gatewayPod = (findObject(objects, "Deployment", "vibewatch-gateway").spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ ports: Array<{ name: string }> }> } } }).template;

    const serviceMonitor = monitors.find((m) => m.kind === "ServiceMonitor");
    const spec = serviceMonitor?.spec as { jobLabel: string; selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
    expect(serviceMonitor?.metadata.namespace).toBe(kustomization.namespace);
    expect(service.metadata.labels).toMatchObject(spec.selector.matchLabels);
    expect(service.metadata.labels[spec.jobLabel]).toBe("vibewatch-ingest");
    expect(spec.endpoints.map((e) => [e.port, e.path])).toEqual([["http", "/metrics"]]);
    expect(service.spec.ports.map((p) => p.name)).toContain("http");

    const podMonitor = monitors.find((m) => m.kind === "PodMonitor");
    const podSpec = podMonitor?.spec as { jobLabel: string; selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Array<{ port: string; path: string }> };
    expect(podMonitor?.metadata.namespace).toBe(kustomization.namespace);
    expect(gatewayPod.metadata.labels).toMatchObject(podSpec.selector.matchLabels);
    expect(gatewayPod.metadata.labels[podSpec.jobLabel]).toBe("vibewatch-gateway");
    expect(podSpec.podMetricsEndpoints.map((e) => [e.port, e.path])).toEqual([["http", "/metrics"]]);
    expect(gatewayPod.spec.containers[0]?.ports.map((p) => p.name)).toContain("http");
  });
});

describe("scripts/setup", () => {
  it("installs Debian's prometheus package for promtool, and stops the server that package enables", () => {
    const script = readText(join(repoRoot, "scripts/setup"));
    expect(script).toMatch(/^packages=\(.*\bprometheus\b.*\)$/m);
    expect(script).toMatch(/^\s*\[prometheus\]=\/usr\/bin\/promtool$/m);
    expect(script).toMatch(/systemctl stop prometheus/);
    expect(script).toMatch(/systemctl disable prometheus/);
    const syntax = spawnSync("bash", ["-n", join(repoRoot, "scripts/setup")], { encoding: "utf8" });
    expect(syntax.status, syntax.stderr).toBe(0);
  });
});
