// Issue 19: npm 11 warns that install scripts "not yet covered by allowScripts" run only for now;
// a later npm skips them, and the XS engine (@agoric/xsnap), the buffer's SQLite (better-sqlite3),
// the CBOR decoder's native part (cbor-extract) and esbuild would not build. package.json approves
// exactly the dependencies the lockfile says have install scripts: no more, no fewer.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/manifests.js";

interface Lock { packages: Record<string, { hasInstallScript?: boolean }> }

describe("npm install scripts", () => {
  it("package.json's allowScripts approves exactly the packages of the lockfile that have install scripts", () => {
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as Lock;
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
      .sort();
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
    expect(withScripts.length).toBeGreaterThan(0);
    expect(Object.entries(pkg.allowScripts ?? {}).filter(([, allowed]) => allowed).map(([name]) => name).sort()).toEqual(withScripts);
  });
});
