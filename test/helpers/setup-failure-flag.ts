// vitest setup file: records failures so service helpers keep their logs for the post-mortem.
import { afterEach } from "vitest";
import { markTestFailed } from "./failure-flag.js";

afterEach((context) => {
  if (context.task.result?.state === "fail") markTestFailed();
});
