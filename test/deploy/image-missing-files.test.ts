// Guards against an image that builds but cannot run: a folder the build needs left out of the
// context by .dockerignore, a source `vibewatch sim` bundles at start missing from the runtime
// stage, a root user, or an entrypoint that is not the CLI.
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative, sep } from "node:path";
import { build } from "esbuild";
import { isIgnored, parseCopy, parseDockerfile, parseDockerignore, type Stage } from "./helpers/dockerfile.js";
import { readText, repoRoot } from "./helpers/manifests.js";
import { simulatedHostModules } from "../../simulator/bundle-firmware.js";
import { DEVICE_ENTRY } from "../../simulator/device-runner.js";

const stages = parseDockerfile(readText(join(repoRoot, "Dockerfile")));
const ignoreRules = parseDockerignore(readText(join(repoRoot, ".dockerignore")));
const buildStage = stages[0] as Stage;
const runtime = stages[stages.length - 1] as Stage;

const copies = (stage: Stage) => stage.instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD").map((i) => parseCopy(i.args));
/** what the runtime stage takes from the build context (not from another stage) */
const runtimeContextSources = copies(runtime).filter((c) => c.from === undefined).flatMap((c) => c.sources);
const runtimeStageSources = copies(runtime).filter((c) => c.from !== undefined).flatMap((c) => c.sources);

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(type\s)?(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): Array<{ specifier: string; typeOnly: boolean }> {
  return [...readText(join(repoRoot, file)).matchAll(IMPORT)].map((m) => ({ specifier: (m[2] ?? m[3]) as string, typeOnly: m[1] !== undefined }));
}

/**
 * What `tsc -p tsconfig.build.json` compiles: the included folders' sources, plus every file they
 * reach through relative imports (type-only ones too: tsc needs them), wherever it lives.
 */
function compiledSources(): Set<string> {
  const buildConfig = JSON.parse(readText(join(repoRoot, "tsconfig.build.json"))) as { include: string[] };
  const pending = buildConfig.include.flatMap((folder) =>
    (readdirSync(join(repoRoot, folder), { recursive: true }) as string[])
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
      .map((file) => posix.join(folder, file.split(sep).join("/"))),
  );
  const seen = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    if (file.endsWith(".d.ts")) continue;
    for (const { specifier } of importsOf(file)) {
      if (!specifier.startsWith(".")) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, ".ts");
      expect(existsSync(join(repoRoot, target)), `${file} imports ${specifier}`).toBe(true);
      pending.push(target);
    }
  }
  return seen;
}

describe("Dockerfile and .dockerignore", () => {
  it("reads Docker's ignore rules the way Docker does", () => {
    const rules = parseDockerignore("*\n!cli\n**/*.test.ts\n");
    expect(isIgnored(rules, "node_modules/x/index.js")).toBe(true);
    expect(isIgnored(rules, "cli/main.ts")).toBe(false);
    expect(isIgnored(rules, "cli/commands/sim.test.ts")).toBe(true);
    expect(isIgnored(rules, "Dockerfile")).toBe(true);
  });

  it("is multi-stage: npm ci and npm run build in a build stage, then a separate runtime stage", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runs = buildStage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
    expect(runs.some((run) => /\bnpm ci\b/.test(run))).toBe(true);
    expect(runs.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
    expect(runs.some((run) => /\bnpm prune --omit=dev\b/.test(run))).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === "RUN" && /\bnpm (ci|install)\b/.test(i.args))).toBe(false);
  });

  it("sends every file the Dockerfile copies from the context, and it exists", () => {
    const sources = stages.flatMap((stage) => copies(stage).filter((c) => c.from === undefined).flatMap((c) => c.sources));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(join(repoRoot, source)), `${source} exists`).toBe(true);
      expect(isIgnored(ignoreRules, source), `${source} is not in .dockerignore`).toBe(false);
    }
    for (const kept of ["node_modules", "dist", ".git", "test", "test-results", "bench"]) {
      expect(isIgnored(ignoreRules, kept), `${kept} stays out of the context`).toBe(true);
    }
  });

  it("copies into the build stage every folder the compiled code reaches through its imports", () => {
    const copied = copies(buildStage).flatMap((c) => c.sources);
    const folders = new Set([...compiledSources()].map((file) => file.split("/")[0] as string));
    expect(folders.size).toBeGreaterThan(3);
    expect([...folders].filter((folder) => !copied.includes(folder))).toEqual([]);
  });

  it("ships what the CLI needs at run time: dist, bin, production node_modules, package.json", () => {
    for (const path of ["/app/dist", "/app/node_modules", "/app/package.json"]) expect(runtimeStageSources, path).toContain(path);
    expect(runtimeContextSources).toContain("bin");
    expect(readText(join(repoRoot, "bin/vibewatch.js"))).toContain("../dist/cli/main.js");
  });

  it("ships every source file the simulator bundles for XS at start (device entry, firmware, protocol)", async () => {
    const result = await build({
      entryPoints: [join(repoRoot, DEVICE_ENTRY)],
      bundle: true,
      format: "iife",
      platform: "neutral",
      target: "es2022",
      write: false,
      metafile: true,
      logLevel: "silent",
      absWorkingDir: repoRoot,
      plugins: [
        {
          name: "moddable-host-modules",
          setup(builder) {
            builder.onResolve({ filter: /^(embedded:|[a-z][a-z0-9-]*$)/ }, (args) => {
              const mapped = simulatedHostModules[args.path];
              return mapped ? { path: join(repoRoot, mapped) } : undefined;
            });
          },
        },
      ],
    });
    const inputs = Object.keys(result.metafile.inputs).map((input) => relative(repoRoot, join(repoRoot, input)));
    expect(inputs.length).toBeGreaterThan(10);
    const shipped = (path: string) => runtimeContextSources.some((source) => path === source || path.startsWith(`${source}/`));
    expect(inputs.filter((input) => !shipped(input))).toEqual([]);
    // esbuild takes TypeScript semantics (class fields) from these: the image bundles as tests did
    for (const tsconfig of ["tsconfig.json", "tsconfig.base.json", "firmware/tsconfig.json"]) expect(shipped(tsconfig), tsconfig).toBe(true);
  });

  it("keeps every package the compiled code imports after `npm prune --omit=dev`", () => {
    const pkg = JSON.parse(readText(join(repoRoot, "package.json"))) as { dependencies: Record<string, string> };
    const missing = new Set<string>();
    for (const file of compiledSources()) {
      for (const { specifier, typeOnly } of importsOf(file)) {
        // `import type` vanishes in the compiled code; Node builtins need no package
        if (typeOnly || specifier.startsWith(".") || specifier.startsWith("node:") || builtinModules.includes(specifier)) continue;
        // Moddable host modules of the firmware: the simulator maps them to files, Node never loads them
        if (specifier.startsWith("embedded:") || specifier in simulatedHostModules) continue;
        const packageName = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] as string);
        if (!(packageName in pkg.dependencies)) missing.add(`${packageName} (${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it("runs the CLI as a non-root user", () => {
    const users = runtime.instructions.filter((i) => i.keyword === "USER").map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(["root", "0", "0:0"]).not.toContain(users[users.length - 1]);
    const entrypoint = runtime.instructions.filter((i) => i.keyword === "ENTRYPOINT").map((i) => JSON.parse(i.args) as string[]);
    expect(entrypoint[entrypoint.length - 1]).toEqual(["node", "--max-semi-space-size=64", "bin/vibewatch.js"]);
  });
});
