// Guards against images that float: a `:latest` or a bare major tag pulls something else next
// month than what was tested; and against the vibewatch image tag drifting from package.json.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { parseDockerfile } from "./helpers/dockerfile.js";
import { asMap, composeDir, interpolate, isPinned, kustomizeResources, parseImage, readText, readYaml, repoRoot } from "./helpers/manifests.js";

const pkg = JSON.parse(readText(join(repoRoot, "package.json"))) as { version: string; engines: { node: string } };

function composeImages(): string[] {
  const compose = asMap(interpolate(readYaml(join(composeDir, "docker-compose.yml"))), "compose");
  return Object.values(asMap(compose.services, "services")).map((service) => asMap(service, "service").image as string);
}

function k8sImages(): string[] {
  const { objects } = kustomizeResources();
  const images: string[] = [];
  for (const object of objects) {
    const podSpec = (object.spec as { template?: { spec?: { containers?: Array<{ image: string }>; initContainers?: Array<{ image: string }> } } } | undefined)?.template?.spec;
    for (const container of [...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])]) images.push(container.image);
  }
  return images;
}

describe("image pinning", () => {
  it("tells pinned from floating references", () => {
    expect(isPinned("influxdb:1.8.10")).toBe(true);
    expect(isPinned("registry.example:5000/vibewatch:0.1.0")).toBe(true);
    expect(isPinned(`node@sha256:${"a".repeat(64)}`)).toBe(true);
    expect(isPinned("eclipse-mosquitto")).toBe(false);
    expect(isPinned("eclipse-mosquitto:latest")).toBe(false);
    expect(isPinned("eclipse-mosquitto:2")).toBe(false);
    expect(isPinned("registry.example:5000/vibewatch")).toBe(false);
  });

  it("pins every image of the Dockerfile, the compose file and the k8s manifests", () => {
    const dockerfileImages = parseDockerfile(readText(join(repoRoot, "Dockerfile"))).map((stage) => stage.image);
    const all = [...dockerfileImages, ...composeImages(), ...k8sImages()];
    expect(all.length).toBeGreaterThanOrEqual(2 + 6 + 2);
    expect(all.filter((image) => !isPinned(image))).toEqual([]);
  });

  it("tags the vibewatch image with package.json's version everywhere", () => {
    const ours = [...composeImages(), ...k8sImages()].filter((image) => parseImage(image).name === "vibewatch");
    expect(ours.length).toBeGreaterThanOrEqual(3);
    for (const image of ours) expect(parseImage(image).tag, image).toBe(pkg.version);
    const { kustomization } = kustomizeResources();
    const override = (kustomization.images as Array<{ name: string; newTag?: string }>).find((entry) => entry.name === "vibewatch");
    expect(override?.newTag).toBe(pkg.version);
  });

  it("builds and runs on a Node release that package.json's engines accepts, the same in both stages", () => {
    const stages = parseDockerfile(readText(join(repoRoot, "Dockerfile")));
    const versions = new Set(stages.map((stage) => /^node:(\d+)\.(\d+)\.(\d+)-/.exec(stage.image)?.slice(1).join(".")));
    expect(versions.size).toBe(1);
    const [version] = [...versions];
    expect(version).toBeDefined();
    const [major, minor] = (version as string).split(".").map(Number) as [number, number];
    const [, minMajor, minMinor] = (/^>=(\d+)\.(\d+)/.exec(pkg.engines.node) ?? []).map(Number) as [number, number, number];
    expect(major > minMajor || (major === minMajor && minor >= minMinor), `${version} vs engines ${pkg.engines.node}`).toBe(true);
  });
});
