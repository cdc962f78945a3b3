// Guards against Kubernetes manifests that apply cleanly but do not work: a Service or a probe on
// a port nothing listens on, an HPA or PDB that selects nothing, a ConfigMap the service's own
// schema refuses, an env name the loader does not know, a Secret key nobody created, a gateway
// that two pods could open at once, and pods that run as root or write their image.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { parse } from "yaml";
import { findObject, k8sDir, kustomizeResources, readYamlDocuments, runCommands, type Json, type K8sObject } from "./helpers/manifests.js";
import { applyEnvironment, environmentNames as ingestEnvironmentNames, parseConfig as parseIngestConfig } from "../../cloud/config/load.js";
import { environmentNames as gatewayEnvironmentNames, TOKEN_ENV, validateConfig as validateGatewayConfig } from "../../gateway/config/load-config.js";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  env?: EnvVar[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  securityContext: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: { type: string } };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string; items?: Array<{ key: string; path: string }> }; persistentVolumeClaim?: { claimName: string }; hostPath?: unknown }>;
  nodeSelector?: Record<string, string>;
  tolerations?: Array<{ key: string; operator: string; value?: string; effect: string }>;
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  strategy: { type: string };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

const { kustomization, objects } = kustomizeResources();
const namespace = kustomization.namespace as string;
const deployment = (name: string) => findObject(objects, "Deployment", name).spec as DeploymentSpec;
const container = (name: string): Container => deployment(name).template.spec.containers[0] as Container;
const secretExamples: K8sObject[] = readdirSync(k8sDir)
  .filter((file) => file.endsWith(".example.yaml"))
  .flatMap((file) => readYamlDocuments(join(k8sDir, file)).map((doc) => ({ ...(doc as K8sObject), file })));

/** The container's environment as the kubelet builds it: Secret values from the example Secrets, fields from a sample pod. */
function resolvedEnv(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of c.env ?? []) {
    let value: string;
    if (variable.value !== undefined) value = variable.value.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? `$(${name})`);
    else if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const secret = secretExamples.find((s) => s.kind === "Secret" && s.metadata.name === name);
      expect(secret, `a Secret ${name} (example) for ${variable.name}`).toBeDefined();
      const data = (secret?.stringData ?? {}) as Record<string, string>;
      expect(Object.keys(data), `Secret ${name} has key ${key}`).toContain(key);
      value = data[key] as string;
    } else if (variable.valueFrom?.fieldRef?.fieldPath === "status.hostIP") value = "192.0.2.10";
    else throw new Error(`${variable.name}: a source this test does not know`);
    env[variable.name] = value;
  }
  return env;
}

/** The file a container's `--config` names, read out of the ConfigMap mounted there. */
function configFromConfigMap(deploymentName: string): { text: string; path: string } {
  const c = container(deploymentName);
  const path = c.args[c.args.indexOf("--config") + 1] as string;
  const mount = c.volumeMounts.find((m) => m.mountPath === posix.dirname(path));
  expect(mount, `${path}'s folder is a mount`).toBeDefined();
  const volume = deployment(deploymentName).template.spec.volumes.find((v) => v.name === mount?.name);
  expect(volume?.configMap, `${mount?.name} is a ConfigMap volume`).toBeDefined();
  const configMap = findObject(objects, "ConfigMap", volume?.configMap?.name as string);
  const text = (configMap.data as Record<string, string>)[posix.basename(path)];
  expect(text, `ConfigMap ${configMap.metadata.name} has ${posix.basename(path)}`).toBeDefined();
  return { text: text as string, path };
}

const ingestConfig = () => parseIngestConfig(applyEnvironment(parse(configFromConfigMap("vibewatch-ingest").text) as Json, resolvedEnv(container("vibewatch-ingest"))));
const gatewayConfig = () => validateGatewayConfig(parse(configFromConfigMap("vibewatch-gateway").text), "gateway ConfigMap", resolvedEnv(container("vibewatch-gateway")));
const portOf = (c: Container, port: string | number): number | undefined => (typeof port === "number" ? port : c.ports.find((p) => p.name === port)?.containerPort);
const bytes = (quantity: string): number => {
  const match = /^(\d+)(Ki|Mi|Gi|Ti)?$/.exec(quantity);
  if (!match) throw new Error(`quantity ${quantity}`);
  return Number(match[1]) * 1024 ** ["", "Ki", "Mi", "Gi", "Ti"].indexOf(match[2] ?? "");
};

let commandResults: Promise<Array<{ code: number; output: string }>>;
let dir: string;

// the command checks spawn the CLI once (seconds; more on a busy 2-core machine)
describe("Kubernetes manifests", { timeout: 120_000 }, () => {
  beforeAll(() => {
    // the containers' args, run by the real CLI with --check on the ConfigMaps' files
    dir = mkdtempSync(join(tmpdir(), "vw-k8s-"));
    commandResults = runCommands(
      ["vibewatch-ingest", "vibewatch-gateway"].map((name) => {
        const { text, path } = configFromConfigMap(name);
        const file = join(dir, posix.basename(path));
        writeFileSync(file, text);
        return { argv: [...container(name).args.map((arg) => (arg === path ? file : arg)), "--check"], env: resolvedEnv(container(name)) };
      }),
    );
  });

  afterAll(async () => {
    await commandResults.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists every manifest in kustomization.yaml except the placeholder Secrets", () => {
    const listed = kustomization.resources as string[];
    const files = readdirSync(k8sDir).filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml");
    expect(files.filter((file) => !file.endsWith(".example.yaml")).sort()).toEqual([...listed].sort());
    expect(listed.filter((file) => file.includes("example"))).toEqual([]);
    expect(findObject(objects, "Namespace", namespace)).toBeDefined();
    for (const secret of secretExamples) {
      for (const value of Object.values(secret.stringData as Record<string, string>)) expect(value).toMatch(/^REPLACE-ME/);
    }
  });

  it("validates the ingest ConfigMap with the service's own loader and schema, Secret env included", () => {
    const config = ingestConfig();
    expect(config.storage).toMatchObject({ type: "influx-v2", token: "REPLACE-ME-influxdb-write-token" });
    // every VW_INGEST_* the pod sets is a setting the loader knows (applyEnvironment throws otherwise)
    for (const name of Object.keys(resolvedEnv(container("vibewatch-ingest")))) expect(ingestEnvironmentNames().has(name), name).toBe(true);
  });

  it("validates the gateway ConfigMap with the gateway's own loader and schema, env included", () => {
    const config = gatewayConfig();
    expect(config.mqtt.url).toBe("mqtts://192.0.2.10:8883");
    const known = new Set([...gatewayEnvironmentNames().map((entry) => entry.env), TOKEN_ENV]);
    for (const name of Object.keys(resolvedEnv(container("vibewatch-gateway"))).filter((n) => n.startsWith("VW_"))) expect(known.has(name), name).toBe(true);
  });

  it("runs both containers' command lines through the real CLI with --check", async () => {
    const [ingest, gateway] = await commandResults;
    expect(ingest?.code, ingest?.output).toBe(0);
    expect(ingest?.output).toMatch(/config ok \(.*\)[^]*storage influx-v2 /);
    expect(gateway?.code, gateway?.output).toBe(0);
  });

  it("routes the Service and the probes to the port the ingest config listens on", () => {
    const config = ingestConfig();
    const c = container("vibewatch-ingest");
    expect(config.listen.host).toBe("0.0.0.0");
    expect(c.ports.map((p) => p.containerPort)).toEqual([config.listen.port]);
    const service = findObject(objects, "Service", "vibewatch-ingest").spec as { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> };
    for (const port of service.ports) expect(portOf(c, port.targetPort)).toBe(config.listen.port);
    expect(portOf(c, c.readinessProbe.httpGet.port)).toBe(config.listen.port);
    expect(portOf(c, c.livenessProbe.httpGet.port)).toBe(config.listen.port);
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(service.selector).toEqual(deployment("vibewatch-ingest").selector.matchLabels);
  });

  it("runs two ingest replicas at least, scaled on CPU by an HPA and kept by a PDB that select them", () => {
    const spec = deployment("vibewatch-ingest");
    expect(spec.replicas).toBe(2);
    const labels = spec.template.metadata.labels;
    for (const [key, value] of Object.entries(spec.selector.matchLabels)) expect(labels[key]).toBe(value);
    const hpa = findObject(objects, "HorizontalPodAutoscaler", "vibewatch-ingest");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    const hpaSpec = hpa.spec as { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas: number; maxReplicas: number; metrics: Array<{ resource?: { name: string } }> };
    expect(hpaSpec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "vibewatch-ingest" });
    expect(hpaSpec.minReplicas).toBe(spec.replicas);
    expect(hpaSpec.maxReplicas).toBeGreaterThan(hpaSpec.minReplicas);
    expect(hpaSpec.metrics.map((m) => m.resource?.name)).toEqual(["cpu"]);
    // a CPU utilization target is a share of the request: without one the HPA cannot act
    expect(container("vibewatch-ingest").resources.requests?.cpu).toBeDefined();
    const pdb = findObject(objects, "PodDisruptionBudget", "vibewatch-ingest").spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    for (const [key, value] of Object.entries(pdb.selector.matchLabels)) expect(labels[key], key).toBe(value);
    expect(pdb.minAvailable).toBeLessThan(spec.replicas);
  });

  it("gives the ingest pod time to drain its writes before it is killed", () => {
    const spec = deployment("vibewatch-ingest").template.spec;
    const preStopS = Number(container("vibewatch-ingest").lifecycle?.preStop?.exec?.command.at(-1) ?? 0);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStopS + ingestConfig().shutdown.drainTimeoutMs / 1000);
  });

  it("runs the gateway alone on its site node, with its buffer on a persistent claim", () => {
    const spec = deployment("vibewatch-gateway");
    // one SQLite writer: never two pods, not even for the length of a rolling update
    expect(spec.replicas).toBe(1);
    expect(spec.strategy.type).toBe("Recreate");
    expect(spec.template.spec.nodeSelector?.["vibewatch.io/site"]).toBe(gatewayConfig().site);
    expect(spec.template.spec.tolerations?.some((t) => t.effect === "NoSchedule")).toBe(true);
    const config = gatewayConfig();
    const c = container("vibewatch-gateway");
    const mount = c.volumeMounts.find((m) => m.mountPath === posix.dirname(config.buffer.path));
    const volume = spec.template.spec.volumes.find((v) => v.name === mount?.name);
    expect(volume?.persistentVolumeClaim, "buffer.path's folder is a PVC").toBeDefined();
    const pvc = findObject(objects, "PersistentVolumeClaim", volume?.persistentVolumeClaim?.claimName as string).spec as { resources: { requests: { storage: string } } };
    expect(bytes(pvc.resources.requests.storage)).toBeGreaterThan(config.buffer.maxBytes);
  });

  it("mounts the gateway's certificate files where its config looks for them", () => {
    const config = gatewayConfig();
    const spec = deployment("vibewatch-gateway").template.spec;
    const c = container("vibewatch-gateway");
    for (const file of [config.mqtt.caFile, config.mqtt.certFile, config.mqtt.keyFile]) {
      expect(file).toBeDefined();
      const mount = c.volumeMounts.find((m) => m.mountPath === posix.dirname(file as string));
      const volume = spec.volumes.find((v) => v.name === mount?.name);
      expect(volume?.secret?.items?.map((item) => item.path), file).toContain(posix.basename(file as string));
    }
  });

  it("points the gateway at the ingest Service and probes the port it listens on", () => {
    const config = gatewayConfig();
    const sink = new URL(config.sink.url);
    const service = findObject(objects, "Service", "vibewatch-ingest");
    expect(sink.hostname).toBe(`${service.metadata.name}.${namespace}.svc.cluster.local`);
    expect(Number(sink.port)).toBe((service.spec as { ports: Array<{ port: number }> }).ports[0]?.port);
    const c = container("vibewatch-gateway");
    expect(config.http.host).toBe("0.0.0.0");
    expect(c.ports.map((p) => p.containerPort)).toEqual([config.http.port]);
    expect(portOf(c, c.readinessProbe.httpGet.port)).toBe(config.http.port);
    expect(portOf(c, c.livenessProbe.httpGet.port)).toBe(config.http.port);
  });

  it("runs every pod non-root, read-only, without privilege escalation, as the restricted policy demands", () => {
    for (const name of ["vibewatch-ingest", "vibewatch-gateway"]) {
      const spec = deployment(name).template.spec;
      expect(spec.securityContext.runAsNonRoot, name).toBe(true);
      expect(spec.securityContext.runAsUser, name).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile?.type, name).toBe("RuntimeDefault");
      expect(spec.volumes.filter((v) => v.hostPath !== undefined), name).toEqual([]);
      for (const c of spec.containers) {
        expect(c.securityContext.readOnlyRootFilesystem, name).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation, name).toBe(false);
        expect(c.securityContext.capabilities?.drop, name).toEqual(["ALL"]);
        expect(c.resources.limits?.memory, name).toBeDefined();
      }
    }
  });
});
