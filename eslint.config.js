// Lint rules: typescript-eslint's recommended set, plus the project's one hard rule:
// firmware/ and protocol/ run on a microcontroller under XS, so they may not import Node APIs.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nodeBuiltins = [
  "assert", "buffer", "child_process", "crypto", "dgram", "dns", "events", "fs", "fs/promises", "http", "https",
  "http2", "net", "os", "path", "perf_hooks", "process", "readline", "stream", "timers", "tls", "url", "util",
  "worker_threads", "zlib",
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "**/*.d.ts.map"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly", process: "readonly", setTimeout: "readonly", clearTimeout: "readonly",
        setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", Buffer: "readonly",
        URL: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", AbortController: "readonly",
        AbortSignal: "readonly", fetch: "readonly", performance: "readonly", queueMicrotask: "readonly",
        structuredClone: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["firmware/**/*.ts", "protocol/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      // exact names (paths), not gitignore-style patterns: "net" must not match firmware/net/*
      // nor Moddable's own "net" module... which is why Moddable's "net" is allowed below
      "no-restricted-imports": ["error", {
        paths: nodeBuiltins.filter((name) => name !== "net").map((name) => ({ name, message: "firmware/ and protocol/ run under XS: no Node APIs." })),
        patterns: [{ group: ["node:*"], message: "firmware/ and protocol/ run under XS: no Node APIs." }],
      }],
      "no-restricted-globals": ["error", "Buffer", "process", "require", "setTimeout", "setInterval"],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
