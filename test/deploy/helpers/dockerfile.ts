// A small reader for the Dockerfile and .dockerignore, enough for test/deploy/ to check what the
// image will contain without a Docker engine: instructions per stage, and Docker's ignore rules
// (patterns from the context root, the last matching pattern wins, a pattern that matches a
// folder matches everything in it, "!" re-includes).

export interface Instruction {
  keyword: string;
  /** the text after the keyword, continuation lines joined */
  args: string;
  /** the stage it belongs to: the `AS` name of the last FROM, or its index */
  stage: string;
}

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions, joining `\` continuations and dropping comments. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (current === "" && (line.trim().startsWith("#") || line.trim() === "")) continue;
    if (line.trim().startsWith("#")) continue; // comment inside a continued instruction
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      continue;
    }
    logical.push((current + line).trim());
    current = "";
  }
  if (current.trim() !== "") logical.push(current.trim());

  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/s.exec(line);
    if (!match) continue;
    const keyword = (match[1] as string).toUpperCase();
    const args = (match[2] as string).trim();
    if (keyword === "FROM") {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile: cannot read FROM ${args}`);
      stages.push({ name: from[2] ?? String(stages.length), image: from[1] as string, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (keyword === "ARG") continue; // ARGs before the first FROM
      throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    }
    stage.instructions.push({ keyword, args, stage: stage.name });
  }
  return stages;
}

export interface CopyInstruction {
  from: string | undefined;
  sources: string[];
  destination: string;
}

/** COPY/ADD arguments, shell form or JSON form, with --from and other flags separated out. */
export function parseCopy(args: string): CopyInstruction {
  let words: string[];
  const rest = args.replace(/^(--\S+\s+)*/, "");
  const flags = args.slice(0, args.length - rest.length).trim().split(/\s+/).filter((w) => w !== "");
  if (rest.startsWith("[")) words = JSON.parse(rest) as string[];
  else words = rest.split(/\s+/);
  const from = flags.find((flag) => flag.startsWith("--from="))?.slice("--from=".length);
  return { from, sources: words.slice(0, -1), destination: words[words.length - 1] as string };
}

function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      if (pattern[i + 2] === "/") {
        out += "(?:.*/)?";
        i += 2;
      } else {
        out += ".*";
        i += 1;
      }
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

export interface IgnoreRule {
  negated: boolean;
  pattern: RegExp;
  text: string;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const body = (negated ? line.slice(1) : line).replace(/^\/+/, "").replace(/\/+$/, "");
      return { negated, pattern: globToRegExp(body), text: line };
    });
}

/** true when `path` (relative to the context root, "/" separators) is left out of the context. */
export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.replace(/^\.\//, "").split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.pattern.test(candidate))) ignored = !rule.negated;
  }
  return ignored;
}
