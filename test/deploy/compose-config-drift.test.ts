// Guards against a compose stack that parses but does not come up or does not connect: a config
// file the service's own schema refuses, ports or host names that disagree between services, a
// mount whose source is missing, a healthcheck-less dependency, a token that does not match the
// hash the ingest service holds.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { asList, asMap, composeDir, hostPathOf, interpolate, parentDir, readText, readYaml, repoRoot, runCommands, type Json } from "./helpers/manifests.js";
import { loadConfig as loadIngestConfig } from "../../cloud/config/load.js";
import { loadConfig as loadGatewayConfig } from "../../gateway/config/load-config.js";
import { verifyToken } from "../../cloud/auth/token-hash.js";

const compose = asMap(interpolate(readYaml(join(composeDir, "docker-compose.yml"))), "compose");
const services = asMap(compose.services, "services") as Record<string, Json>;
const volumesDeclared = Object.keys(asMap(compose.volumes, "volumes"));
const service = (name: string): Json => asMap(services[name], `service ${name}`);

interface Mount {
  source: string;
  target: string;
  named: boolean;
}
function mounts(name: string): Mount[] {
  return asList(service(name).volumes ?? [], `${name}.volumes`).map((entry) => {
    const [source, target] = (entry as string).split(":") as [string, string];
    return { source, target, named: !source.startsWith(".") && !source.startsWith("/") };
  });
}
const bindMounts = (name: string) => mounts(name).filter((m) => !m.named);
const environment = (name: string): Record<string, string> => asMap(service(name).environment ?? {}, `${name}.environment`) as Record<string, string>;
const command = (name: string): string[] => asList(service(name).command, `${name}.command`) as string[];
const optionOf = (argv: string[], option: string): string => {
  const index = argv.indexOf(option);
  expect(index, `${option} in ${argv.join(" ")}`).toBeGreaterThan(0);
  return argv[index + 1] as string;
};
const configPathOn = (name: string): string => {
  const path = hostPathOf(optionOf(command(name), "--config"), bindMounts(name), composeDir);
  expect(path, `${name}'s --config is a mounted file`).toBeDefined();
  return path as string;
};
const publishedPorts = (name: string) =>
  (asList(service(name).ports ?? [], `${name}.ports`) as string[]).map((entry) => {
    const [hostIp, hostPort, containerPort] = entry.split(":");
    return { hostIp, hostPort: Number(hostPort), containerPort: Number(containerPort) };
  });
const healthcheckText = (name: string): string => (asList(asMap(service(name).healthcheck, `${name}.healthcheck`).test, "test") as string[]).join(" ");

const ingestConfig = () => loadIngestConfig(configPathOn("ingest"), environment("ingest"));
const gatewaySecretFile = (): string => {
  const secrets = asMap(compose.secrets, "secrets");
  const [secretName] = asList(service("gateway").secrets, "gateway.secrets") as string[];
  return join(composeDir, asMap(secrets[secretName as string], "secret").file as string);
};
const gatewayEnv = () => ({ ...environment("gateway"), VW_GATEWAY_SINK_TOKEN: readFileSync(gatewaySecretFile(), "utf8").trim() });
const gatewayConfig = () => loadGatewayConfig(configPathOn("gateway"), gatewayEnv());
const mosquittoListenerPort = (): number => {
  const conf = readText(hostPathOf("/mosquitto/config/mosquitto.conf", bindMounts("mosquitto"), composeDir) as string);
  return Number(/^listener\s+(\d+)\s*$/m.exec(conf)?.[1]);
};

/** the containers' command lines with the host's copies of their config files, run by the real CLI */
const withHostConfig = (name: string): string[] => command(name).map((arg) => (arg === optionOf(command(name), "--config") ? configPathOn(name) : arg));
let commandResults: Promise<Array<{ code: number; output: string }>>;

// the command checks spawn the CLI once (seconds; more on a busy 2-core machine)
describe("docker-compose stack", { timeout: 120_000 }, () => {
  beforeAll(() => {
    commandResults = runCommands([
      { argv: [...withHostConfig("ingest"), "--check"], env: environment("ingest") },
      { argv: [...withHostConfig("gateway"), "--check"], env: gatewayEnv() },
      // sim has no --check: --help after the options makes it parse them strictly, then stop
      { argv: [...command("sim"), "--help"], env: {} },
    ]);
  });

  it("has the services of the local chain, the simulated fleet as an opt-in profile", () => {
    expect(Object.keys(services).sort()).toEqual(["gateway", "grafana", "influxdb", "ingest", "mosquitto", "sim"]);
    expect(service("sim").profiles).toEqual(["sim"]);
    for (const name of ["ingest", "gateway", "sim"]) expect(asMap(service(name).build, `${name}.build`).dockerfile).toBe("Dockerfile");
    expect(existsSync(join(composeDir, asMap(service("ingest").build, "build").context as string, "Dockerfile"))).toBe(true);
  });

  it("gives every long-running service a healthcheck, and waits on it before starting dependents", () => {
    for (const name of ["mosquitto", "influxdb", "grafana", "ingest", "gateway"]) expect(service(name).healthcheck, name).toBeDefined();
    for (const [name, definition] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(asMap(definition.depends_on ?? {}, `${name}.depends_on`))) {
        expect(services[dependency], `${name} depends on ${dependency}`).toBeDefined();
        expect(asMap(condition, "condition").condition, `${name} -> ${dependency}`).toBe("service_healthy");
        expect(service(dependency).healthcheck, `${dependency} has a healthcheck`).toBeDefined();
      }
    }
  });

  it("mounts only files and folders that exist, and declares every named volume", () => {
    for (const name of Object.keys(services)) {
      for (const mount of mounts(name)) {
        if (mount.named) expect(volumesDeclared, `${name}: ${mount.source}`).toContain(mount.source);
        else expect(existsSync(join(composeDir, mount.source)), `${name}: ${mount.source}`).toBe(true);
      }
    }
    // the state that must outlive a container: broker sessions, the time series, the gateway buffer
    expect(mounts("mosquitto").some((m) => m.named && m.target === "/mosquitto/data")).toBe(true);
    expect(mounts("influxdb").some((m) => m.named && m.target === "/var/lib/influxdb")).toBe(true);
    expect(mounts("gateway").some((m) => m.named && m.target === parentDir(gatewayConfig().buffer.path))).toBe(true);
  });

  it("keeps the broker's persistence on its volume and publishes no broker port", () => {
    const conf = readText(join(composeDir, "config/mosquitto-dev.conf"));
    expect(conf).toMatch(/^persistence true$/m);
    const location = /^persistence_location\s+(\S+)$/m.exec(conf)?.[1];
    expect(location?.replace(/\/$/, "")).toBe("/mosquitto/data");
    expect(service("mosquitto").ports).toBeUndefined();
  });

  it("publishes ports on the host's loopback only", () => {
    for (const name of Object.keys(services)) {
      for (const port of publishedPorts(name)) expect(port.hostIp, `${name} ${port.hostPort}`).toBe("127.0.0.1");
    }
  });

  it("validates ingest.yaml with the ingest service's own loader and schema, env included", async () => {
    const config = ingestConfig();
    expect(config.storage).toMatchObject({ type: "influx-v1", url: "http://influxdb:8086", database: environment("influxdb").INFLUXDB_DB, username: environment("influxdb").INFLUXDB_WRITE_USER, password: environment("influxdb").INFLUXDB_WRITE_USER_PASSWORD });
    const [checked] = await commandResults;
    expect(checked?.output).toMatch(/config ok \(.*\)[^]*storage influx-v1 /);
    expect(checked?.code).toBe(0);
  });

  it("validates gateway.yaml with the gateway's own loader and schema, token included", async () => {
    const config = gatewayConfig();
    expect(config.sink.tokenFile).toBe(`/run/secrets/${(service("gateway").secrets as string[])[0]}`);
    const [, checked] = await commandResults;
    expect(checked?.code, checked?.output).toBe(0);
    // the output is the effective config as JSON, then (stderr) what the check found: broker, ingest
    const json = (checked?.output ?? "").split(/\n(?=broker )/)[0] ?? "";
    expect((JSON.parse(json) as { gatewayId: string }).gatewayId).toBe(config.gatewayId);
    expect(checked?.output).toMatch(/\nbroker mqtt:\/\/mosquitto:\d+: /);
  });

  it("connects the services at the host names and ports they listen on", () => {
    const ingest = ingestConfig();
    const gateway = gatewayConfig();
    // gateway -> ingest
    const sink = new URL(gateway.sink.url);
    expect(sink.hostname).toBe("ingest");
    expect(Number(sink.port)).toBe(ingest.listen.port);
    expect(sink.pathname).toBe("/v1/batches");
    expect(ingest.listen.host).toBe("0.0.0.0");
    // gateway, sim -> mosquitto
    const broker = new URL(gateway.mqtt.url);
    expect(broker.hostname).toBe("mosquitto");
    expect(Number(broker.port)).toBe(mosquittoListenerPort());
    expect(optionOf(command("sim"), "--broker")).toBe(gateway.mqtt.url);
    // the fleet's site is one the gateway subscribes to, at the heartbeat the gateway expects
    expect(gateway.mqtt.sites).toContain(optionOf(command("sim"), "--site"));
    expect(Number(optionOf(command("sim"), "--heartbeat"))).toBe(gateway.heartbeat.intervalS);
    // healthchecks and published ports hit the ports the services listen on
    expect(healthcheckText("ingest")).toContain(`127.0.0.1:${ingest.listen.port}/readyz`);
    expect(publishedPorts("ingest").map((p) => p.containerPort)).toEqual([ingest.listen.port]);
    expect(healthcheckText("gateway")).toContain(`127.0.0.1:${gateway.http.port}/healthz`);
    expect(publishedPorts("gateway").map((p) => p.containerPort)).toEqual([gateway.http.port]);
    expect(healthcheckText("mosquitto")).toContain(`-p ${mosquittoListenerPort()}`);
  });

  it("starts the gateway with the node flags of its systemd unit", () => {
    const unit = readFileSync(join(repoRoot, "manifests/systemd/vibewatch-gateway.service"), "utf8");
    const execStart = /^ExecStart=(\S+) (.*)$/m.exec(unit);
    expect(execStart, "the unit's ExecStart").not.toBeNull();
    // node's own flags: the arguments before the script
    const unitArgs = execStart![2]!.split(/\s+/);
    const unitNodeFlags = unitArgs.slice(0, unitArgs.findIndex((arg) => !arg.startsWith("--")));
    const entrypoint = asList(service("gateway").entrypoint, "gateway.entrypoint") as string[];
    expect(entrypoint[0]).toBe("node");
    expect(entrypoint.slice(1, -1)).toEqual(unitNodeFlags);
    expect(entrypoint[entrypoint.length - 1]).toBe("bin/vibewatch.js");
  });

  it("gives the gateway a token that matches the tokenHash the ingest service holds for it", async () => {
    const token = readFileSync(gatewaySecretFile(), "utf8").trim();
    const entry = ingestConfig().gateways.find((g) => g.id === gatewayConfig().gatewayId);
    expect(entry, "ingest.yaml lists the gateway").toBeDefined();
    expect(token.startsWith(`${entry?.id}.`)).toBe(true);
    expect(await verifyToken(token, entry?.tokenHash as string)).toBe(true);
    expect(await verifyToken(`${token}x`, entry?.tokenHash as string)).toBe(false);
  });

  it("runs the simulated fleet with options the sim command accepts", async () => {
    // sim has no --check: --help after the options makes it parse them strictly, then stop
    const [, , checked] = await commandResults;
    expect(checked?.code, checked?.output).toBe(0);
    expect(checked?.output).toMatch(/Usage: vibewatch sim/);
  });

  it("provisions Grafana with one datasource, the dashboards where the provider looks, and every variable set", () => {
    const grafanaMounts = bindMounts("grafana");
    const datasourceFiles = grafanaMounts.filter((m) => m.target.startsWith("/etc/grafana/provisioning/datasources"));
    expect(datasourceFiles).toHaveLength(1);
    const providerFile = hostPathOf("/etc/grafana/provisioning/dashboards/vibewatch.yaml", grafanaMounts, composeDir) as string;
    const provider = asList(asMap(parse(readText(providerFile)), "provider").providers, "providers")[0] as { options: { path: string } };
    const dashboards = hostPathOf(provider.options.path, grafanaMounts, composeDir);
    expect(dashboards, "the provider's path is mounted").toBeDefined();
    expect(existsSync(join(dashboards as string, "fleet.json"))).toBe(true);
    expect(dashboards).toBe(join(repoRoot, "manifests/grafana/dashboards"));
    const datasource = readText(join(composeDir, (datasourceFiles[0] as Mount).source));
    const variables = [...datasource.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] as string);
    expect(variables.length).toBeGreaterThan(0);
    for (const variable of variables) expect(environment("grafana")[variable], variable).toBeTruthy();
    expect(environment("grafana").VW_INFLUX_READ_USER).toBe(environment("influxdb").INFLUXDB_READ_USER);
    expect(environment("grafana").VW_INFLUX_READ_PASSWORD).toBe(environment("influxdb").INFLUXDB_READ_USER_PASSWORD);
  });

  it("refuses to interpolate a variable that is unset and has no default", () => {
    expect(interpolate("${A:-x}/${B}", { B: "y" })).toBe("x/y");
    expect(interpolate("$$SYS")).toBe("$SYS");
    expect(() => interpolate("${MISSING}")).toThrow(/MISSING/);
  });
});
