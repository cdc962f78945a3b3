// Loading the deployment files for test/deploy/: YAML documents (merge keys on, as Docker Compose
// reads them), Compose's variable interpolation, the kustomization's resources, image references,
// and running a `vibewatch` command line.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
export const composeDir = join(repoRoot, "manifests/compose");
export const k8sDir = join(repoRoot, "manifests/k8s");

export const readText = (path: string): string => readFileSync(path, "utf8");

export function readYaml(path: string): unknown {
  return parse(readText(path), { merge: true });
}

/** Every YAML document of a (possibly multi-document) file. */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readText(path), { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    return doc.toJS() as unknown;
  });
}

export type Json = Record<string, unknown>;
export const asMap = (value: unknown, what: string): Json => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what}: expected a map`);
  return value as Json;
};
export const asList = (value: unknown, what: string): unknown[] => {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list`);
  return value;
};

/**
 * Docker Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, $VAR and
 * $$ (a literal $). A variable that is unset and has no default is an error: the stack would
 * start with an empty value.
 */
export function interpolate(value: unknown, env: Record<string, string> = {}): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (whole === "$$") return "$";
      const name = (braced ?? bare) as string;
      const set = env[name];
      if (op === ":-" && (set === undefined || set === "")) return arg ?? "";
      if (op === "-" && set === undefined) return arg ?? "";
      if (set !== undefined && !(op === ":?" && set === "")) return set;
      throw new Error(`compose variable ${name} is not set and has no default${arg ? ` (${arg})` : ""}`);
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env));
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

export interface ImageRef {
  name: string;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseImage(ref: string): ImageRef {
  const [withoutDigest, digest] = ref.split("@") as [string, string | undefined];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  return colon < 0
    ? { name: withoutDigest, tag: undefined, digest }
    : { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
}

/** Pinned: a digest, or a tag that names at least major.minor ("2" or "latest" float). */
export function isPinned(ref: string): boolean {
  const image = parseImage(ref);
  if (image.digest && /^sha256:[0-9a-f]{64}$/.test(image.digest)) return true;
  return image.tag !== undefined && image.tag !== "latest" && /^v?\d+\.\d+/.test(image.tag);
}

export interface K8sObject extends Json {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  /** the file it came from, relative to manifests/k8s */
  file: string;
}

/** The objects kustomization.yaml lists, in order. */
export function kustomizeResources(): { kustomization: Json; objects: K8sObject[] } {
  const kustomization = asMap(readYaml(join(k8sDir, "kustomization.yaml")), "kustomization.yaml");
  const objects: K8sObject[] = [];
  for (const file of asList(kustomization.resources, "resources") as string[]) {
    for (const doc of readYamlDocuments(join(k8sDir, file))) objects.push({ ...(asMap(doc, file) as K8sObject), file });
  }
  return { kustomization, objects };
}

export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in manifests/k8s (kinds: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")})`);
  return found;
}

export interface CommandJob {
  argv: string[];
  env: Record<string, string>;
}

/**
 * Runs `vibewatch <argv>` command lines as a container would, in one child process (see
 * ./run-commands-child.ts): its stderr goes into the output too. Returns, per job, the exit code
 * and what it printed.
 */
export async function runCommands(jobs: CommandJob[]): Promise<Array<{ code: number; output: string }>> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/deploy/helpers/run-commands-child.ts"), JSON.stringify(jobs)], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
  const exit = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  return jobs.map((_, index) => {
    const match = new RegExp(String.raw`<<<job ${index}\n([\s\S]*?)>>>job ${index} exit (\d+)`).exec(text);
    if (!match) throw new Error(`job ${index} did not finish (child exit ${exit}):\n${text}`);
    return { code: Number(match[2]), output: match[1] as string };
  });
}

/** Maps an absolute container path through bind mounts ("host:container[:ro]") to a host path. */
export function hostPathOf(containerPath: string, mounts: Array<{ source: string; target: string }>, baseDir: string): string | undefined {
  for (const mount of mounts) {
    if (containerPath === mount.target) return join(baseDir, mount.source);
    if (containerPath.startsWith(mount.target + "/")) return join(baseDir, mount.source, posix.relative(mount.target, containerPath));
  }
  return undefined;
}

export const parentDir = (path: string): string => posix.dirname(path);
