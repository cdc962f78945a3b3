#!/usr/bin/env node
// Builds the simulator's XS worker: @agoric/xsnap's own xsnap-worker, from the sources that package
// ships in node_modules, plus the firmware's native DSP core (every .c in firmware/dsp/native/), the
// simulator's own host functions (every .c in simulator/native/, e.g. the XS memory probe; they may
// read XS internals, never firmware) and one generated file that installs each `xs_vwdsp_*` host
// function of firmware/dsp/native/dsp-binding.c and each `xs_vwsim_*` one of simulator/native/*.c
// as a global of the same name. Runs from package.json "postinstall" (after npm ci has installed and
// built @agoric/xsnap); by hand: `node scripts/build-xs-worker.js`. Idempotent: make rebuilds only
// what changed, and generated files are rewritten only when their content changes.
//
// How: the package's own makefile (xsnap-native/xsnap/makefiles/<platform>/xsnap-worker.mk, release
// GOAL, the variables its src/build.js passes) is read by make together with a small appendix
// makefile written here, with BUILD_DIR pointed at build/xsnap-dsp/ (gitignored). The appendix adds
// the DSP and simulator objects and compiles a copy of xsnap-worker.c that carries one delimited patch: a call to
// vwInstallNatives(the) where xsBuildAgent() defines xsnap's own global host functions.
// Nothing under node_modules is modified.
//
// Registration rule: every definition `void xs_vwdsp_<name>(xsMachine* the) {` in dsp-binding.c (not
// static, not commented out) becomes globalThis.xs_vwdsp_<name>. Its `length` is N when the comment
// right above the definition, or one on the definition line before its `{`, holds `args: N`; else 0.
// The same rule makes every `void xs_vwsim_<name>(xsMachine* the) {` in any simulator/native/*.c a
// global; that folder is optional (none: no xs_vwsim_ globals), a name defined twice fails the build.
//
// `--stress` (bench:firmware-memory) builds a second variant instead, in build/xsnap-dsp/stress/, with
// XS's -DmxStress=1: xs_vwsim_stress(true) (simulator/native/xs-memory-probe.c) then makes XS collect
// garbage before every allocation, so its peaks are live data. The simulator never runs that one.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, type as osType } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(repoRoot, "firmware/dsp/native");
const bindingFile = join(nativeDir, "dsp-binding.c");
/** simulator-only C (not firmware): host functions named xs_vwsim_* */
const simNativeDir = join(repoRoot, "simulator/native");
const STRESS = process.argv.includes("--stress");
/** BUILD_DIR of the package makefile; the binary lands in bin/<platform>/release/xsnap-worker */
const buildDir = join(repoRoot, STRESS ? "build/xsnap-dsp/stress" : "build/xsnap-dsp");
const genDir = join(buildDir, "gen");
const platforms = { Linux: "lin", Darwin: "mac" };
const GOAL = "release";
const PATCH_ANCHOR = 'xsDefine(xsGlobal, xsID("harden"), xsResult, xsDontEnum);';

function fail(message) {
  console.error(`\nbuild-xs-worker: FAILED: ${message}\n`);
  process.exit(1);
}

/** writes only when the content differs, so make's timestamps stay meaningful */
function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, "utf8") === text) return false;
  writeFileSync(file, text);
  return true;
}

/** the C text with comments and string/char literals blanked to spaces (offsets and lines kept) */
function blankComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, (m) => m.replace(/[^\n]/g, " "));
}

/** the comment (one block comment, or a run of // lines) that ends right before `index`, or "" */
function commentBefore(text, index) {
  const before = text.slice(0, index).replace(/\s+$/, "");
  if (before.endsWith("*/")) return before.slice(before.lastIndexOf("/*"));
  const lines = before.split("\n");
  let i = lines.length;
  while (i > 0 && /^\s*\/\//.test(lines[i - 1])) i--;
  return lines.slice(i).join("\n");
}

/** [{name, args}] for each `void <prefix><name>(xsMachine* the) {` definition of `file` */
function scanBinding(text, prefix = "xs_vwdsp_", file = bindingFile) {
  const code = blankComments(text);
  const found = [];
  const definition = new RegExp(`^[ \\t]*void\\s+(${prefix}\\w+)\\s*\\(\\s*xsMachine\\s*\\*\\s*the\\s*\\)[^{;]*\\{`, "gm");
  for (const match of code.matchAll(definition)) {
    // the comment above the definition, and the definition line itself up to its brace
    const own = text.slice(match.index, match.index + match[0].length);
    const args = /\bargs:\s*(\d+)/.exec(`${commentBefore(text, match.index)}\n${own}`);
    found.push({ name: match[1], args: args ? Number(args[1]) : 0 });
  }
  const seen = new Set();
  for (const { name } of found) {
    if (seen.has(name)) fail(`${relative(repoRoot, file)} defines ${name} twice`);
    seen.add(name);
  }
  return found;
}

/** [{name, args, file}] for the xs_vwsim_* definitions of every simulator/native/*.c; a name twice fails */
function scanSimulatorNatives(simSources) {
  const found = [];
  const where = new Map();
  for (const source of simSources) {
    const file = join(simNativeDir, source);
    for (const native of scanBinding(readFileSync(file, "utf8"), "xs_vwsim_", file)) {
      if (where.has(native.name)) fail(`${native.name} is defined in both ${where.get(native.name)} and ${relative(repoRoot, file)}`);
      where.set(native.name, relative(repoRoot, file));
      found.push({ ...native, file: relative(repoRoot, file) });
    }
  }
  return found;
}

function registrationSource(natives) {
  return [
    "// GENERATED by scripts/build-xs-worker.js from firmware/dsp/native/dsp-binding.c and simulator/native/*.c: do not edit.",
    "// Installs each xs_vwdsp_* host function of the binding and each xs_vwsim_* one of the simulator as a global of the same name.",
    '#include "xs.h"',
    "",
    ...natives.map(({ name }) => `extern void ${name}(xsMachine* the);`),
    "",
    "void vwInstallNatives(xsMachine* the);",
    "void vwInstallNatives(xsMachine* the)",
    "{",
    ...natives.flatMap(({ name, args }) => [
      `\txsResult = xsNewHostFunction(${name}, ${args});`,
      `\txsDefine(xsGlobal, xsID("${name}"), xsResult, xsDontEnum);`,
    ]),
    "}",
    "",
  ].join("\n");
}

function patchedWorker(original) {
  const at = original.indexOf(PATCH_ANCHOR);
  if (at < 0 || original.indexOf(PATCH_ANCHOR, at + 1) >= 0) {
    fail(`xsnap-worker.c has ${at < 0 ? "no" : "more than one"} line \`${PATCH_ANCHOR}\`: @agoric/xsnap changed, update the patch in scripts/build-xs-worker.js`);
  }
  const end = at + PATCH_ANCHOR.length;
  const patch = [
    "",
    "\t/* >>> vibewatch patch (scripts/build-xs-worker.js): the firmware's DSP host functions */",
    "\t{ extern void vwInstallNatives(xsMachine* the); vwInstallNatives(the); }",
    "\t/* <<< vibewatch patch */",
  ].join("\n");
  return original.slice(0, end) + patch + original.slice(end);
}

/** appended to the package makefile (make -f xsnap-worker.mk -f vibewatch.mk): our objects and the patched worker */
function appendixMakefile(sources, simSources) {
  return `# GENERATED by scripts/build-xs-worker.js: read after @agoric/xsnap's xsnap-worker.mk.
VW_OBJECTS = ${sources.map((s) => `$(TMP_DIR)/vibewatch/${s.replace(/\.c$/, ".o")}`).join(" ")} $(TMP_DIR)/vibewatch/vw-natives.o
VW_SIM_OBJECTS = ${simSources.map((s) => `$(TMP_DIR)/vibewatch/sim/${s.replace(/\.c$/, ".o")}`).join(" ")}
OBJECTS += $(VW_OBJECTS) $(VW_SIM_OBJECTS)
C_OPTIONS += -I${nativeDir}
${STRESS ? "# --stress: XS collects before every allocation while xs_vwsim_stress(true)\nC_OPTIONS += -DmxStress=1\n" : ""}
$(BIN_DIR)/$(NAME): $(VW_OBJECTS) $(VW_SIM_OBJECTS) ${genDir}/vibewatch.mk
$(VW_OBJECTS): $(EXTRA_DEPS) ${genDir}/vibewatch.mk $(INC_DIR)/xs.h $(INC_DIR)/xsmc.h $(wildcard ${nativeDir}/*.h) | $(TMP_DIR)/vibewatch
$(TMP_DIR)/vibewatch:
	mkdir -p $@
# the simulator's C reads XS internals (xsAll.h): it rebuilds when any XS header changes
$(VW_SIM_OBJECTS): $(EXTRA_DEPS) ${genDir}/vibewatch.mk $(INC_DIR)/xs.h $(wildcard $(SRC_DIR)/*.h) $(wildcard ${simNativeDir}/*.h) | $(TMP_DIR)/vibewatch/sim
$(TMP_DIR)/vibewatch/sim:
	mkdir -p $@
$(TMP_DIR)/vibewatch/sim/%.o: ${simNativeDir}/%.c
	@echo "#" $(NAME) $(GOAL) ": cc" $(<F) "(vibewatch simulator)"
	$(CC) $< $(C_OPTIONS) -c -o $@
$(TMP_DIR)/vibewatch/vw-natives.o: ${genDir}/vw-natives.c
	@echo "#" $(NAME) $(GOAL) ": cc" $(<F) "(vibewatch, generated)"
	$(CC) $< $(C_OPTIONS) -c -o $@
$(TMP_DIR)/vibewatch/%.o: ${nativeDir}/%.c
	@echo "#" $(NAME) $(GOAL) ": cc" $(<F) "(vibewatch)"
	$(CC) $< $(C_OPTIONS) -c -o $@
# the patched copy replaces the package's xsnap-worker.c (an explicit rule beats the pattern rule)
$(TMP_DIR)/xsnap-worker.o: ${genDir}/xsnap-worker.c
	@echo "#" $(NAME) $(GOAL) ": cc" $(<F) "(vibewatch patch)"
	$(CC) $< $(C_OPTIONS) -c -o $@
`;
}

function variantWorkerPath(os = osType()) {
  return join(buildDir, "bin", platforms[os] ?? "lin", GOAL, "xsnap-worker");
}

function main() {
  const started = Date.now();
  const platform = platforms[osType()];
  if (!platform) fail(`no xsnap makefile for OS ${osType()} (supported: ${Object.keys(platforms).join(", ")})`);

  let xsnapDir;
  try {
    xsnapDir = dirname(createRequire(import.meta.url).resolve("@agoric/xsnap/package.json"));
  } catch {
    fail("@agoric/xsnap is not installed: run npm ci first");
  }
  const pkg = JSON.parse(readFileSync(join(xsnapDir, "package.json"), "utf8"));
  const moddable = join(xsnapDir, "moddable");
  const makefileDir = join(xsnapDir, "xsnap-native/xsnap/makefiles", platform);
  const tlsDir = join(xsnapDir, "xsnap-native/xsnap/sources");
  for (const needed of [join(moddable, "xs/includes/xs.h"), join(makefileDir, "xsnap-worker.mk"), join(tlsDir, "xsnap-worker.c")]) {
    if (!existsSync(needed)) fail(`@agoric/xsnap ${pkg.version} ships no ${relative(xsnapDir, needed)}: cannot build from its sources`);
  }

  if (!existsSync(bindingFile)) {
    fail(`${relative(repoRoot, bindingFile)} is missing: the simulator's XS worker links the firmware's native DSP (firmware/dsp/native/*.c)`);
  }
  const sources = readdirSync(nativeDir).filter((f) => f.endsWith(".c")).sort();
  const natives = scanBinding(readFileSync(bindingFile, "utf8"));
  if (natives.length === 0) fail(`${relative(repoRoot, bindingFile)} defines no \`void xs_vwdsp_<name>(xsMachine* the) {\` host function`);
  const simSources = existsSync(simNativeDir) ? readdirSync(simNativeDir).filter((f) => f.endsWith(".c")).sort() : [];
  const simNatives = scanSimulatorNatives(simSources);

  mkdirSync(genDir, { recursive: true });
  // the package makefile creates its folders as sibling goals of the link: under make -j an object
  // could be compiled before its folder exists, so they are made here first
  mkdirSync(join(buildDir, "tmp", platform, GOAL, "xsnap-worker", "vibewatch", "sim"), { recursive: true });
  mkdirSync(join(buildDir, "bin", platform, GOAL), { recursive: true });
  const mk = appendixMakefile(sources, simSources);
  // the same configuration variables as the package's src/build.js, plus what shapes our part:
  // when any of it changes, EXTRA_DEPS (this file) is newer than every object, and all rebuild
  // (npm gives package files a fixed 1985 mtime, so an upgraded @agoric/xsnap shows up here, not in timestamps)
  const configEnvs = [`XSNAP_VERSION=${pkg.version}`, `CC=cc "-D__has_builtin(x)=1"`];
  const configLines = STRESS ? [...configEnvs, "mxStress=1"] : configEnvs;
  const configFile = join(genDir, "build.config.env");
  const packageEnv = existsSync(join(xsnapDir, "build.env")) ? readFileSync(join(xsnapDir, "build.env"), "utf8").trim() : "";
  writeIfChanged(configFile, [...configLines, packageEnv, ""].join("\n"));
  // the appendix changes with the list of .c files: our objects rebuild and the worker relinks
  writeIfChanged(join(genDir, "vibewatch.mk"), mk);
  writeIfChanged(join(genDir, "vw-natives.c"), registrationSource([...natives, ...simNatives]));
  writeIfChanged(join(genDir, "xsnap-worker.c"), patchedWorker(readFileSync(join(tlsDir, "xsnap-worker.c"), "utf8")));
  writeIfChanged(join(buildDir, "natives.json"), JSON.stringify({
    binding: relative(repoRoot, bindingFile), natives,
    simulator: { sources: simSources.map((s) => relative(repoRoot, join(simNativeDir, s))), natives: simNatives },
  }, null, 2) + "\n");

  const make = spawnSync("make", [
    `-j${availableParallelism()}`,
    `MODDABLE=${moddable}`,
    `GOAL=${GOAL}`,
    ...configEnvs,
    `EXTRA_DEPS=${configFile}`,
    `BUILD_DIR=${buildDir}`,
    `TLS_DIR=${tlsDir}`,
    "-f", "xsnap-worker.mk",
    "-f", join(genDir, "vibewatch.mk"),
  ], { cwd: makefileDir, stdio: ["ignore", "inherit", "inherit"] });
  if (make.error) fail(`could not run make (${make.error.message}): install make and a C compiler (Debian: build-essential)`);
  if (make.status !== 0) fail(`make exited with ${make.status ?? make.signal} building the DSP xsnap-worker (see the compiler output above)`);

  const bin = variantWorkerPath();
  if (!existsSync(bin)) fail(`make succeeded but ${relative(repoRoot, bin)} does not exist`);
  const simPart = simSources.length ? ` + simulator/native/${simSources.join(", ")}` : "";
  console.log(`build-xs-worker: ${relative(repoRoot, bin)} (xsnap ${pkg.version}${STRESS ? " with mxStress" : ""} + ${sources.join(", ")}${simPart}; ${natives.length + simNatives.length} host functions) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
