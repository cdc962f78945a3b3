import { formatLines } from "./cloud/storage/line-protocol.js";
import { sampleTelemetry } from "./protocol/examples.js";
const recs = Array.from({ length: 5000 }, (_, r) => ({ record: { id: r + 1, ts: 1.7e15 + r, k: "tele" as const, d: "dev-" + (r % 50), p: { ...sampleTelemetry, d: "dev-" + (r % 50), s: r } }, site: "s", gateway: "gw" }));
const times: number[] = [];
for (let i = 0; i < 40; i++) { const t = performance.now(); formatLines(recs); times.push(performance.now() - t); }
times.sort((a, b) => a - b);
console.log("median ms per 5000:", times[20]!.toFixed(2), "min", times[0]!.toFixed(2));
