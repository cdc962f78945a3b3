// Repeated warnings collapse into one line per interval with a count. A cloud outage made the sink
// log one warning per failed batch (73 lines a minute at its backoff): a journal nobody can read at
// 3 a.m. and, on a Pi's SD card, write wear. The first occurrence of a kind logs at once; later
// ones within `intervalMs` are counted and folded into the next line (`repeated`: how many were
// not logged since the previous line); `settled()` says once that the condition is over.
import type { Logger } from "pino";

export interface RepeatedLogOptions {
  log: Logger;
  /** one line per kind per this many ms at most */
  intervalMs: number;
  now?: () => number;
}

interface Kind {
  lastLoggedMs: number;
  unlogged: number;
  total: number;
}

export class RepeatedLog {
  readonly #options: RepeatedLogOptions;
  readonly #kinds = new Map<string, Kind>();

  constructor(options: RepeatedLogOptions) {
    this.#options = options;
  }

  /** logs `msg` at `level` for `key`, or counts it when that key logged less than intervalMs ago */
  note(level: "warn" | "error", key: string, fields: Record<string, unknown>, msg: string): void {
    const now = (this.#options.now ?? Date.now)();
    let kind = this.#kinds.get(key);
    if (!kind) {
      // a bound on kinds: keys are codes and error classes, but never let them grow without end
      if (this.#kinds.size >= 64) this.#kinds.clear();
      kind = { lastLoggedMs: -Infinity, unlogged: 0, total: 0 };
      this.#kinds.set(key, kind);
    }
    kind.total++;
    if (now - kind.lastLoggedMs < this.#options.intervalMs) {
      kind.unlogged++;
      return;
    }
    this.#options.log[level]({ ...fields, repeated: kind.unlogged, occurrences: kind.total }, msg);
    kind.lastLoggedMs = now;
    kind.unlogged = 0;
  }

  /** the condition behind every key is over: one line with what was counted, then a fresh start */
  settled(msg: string): void {
    if (this.#kinds.size === 0) return;
    const occurrences = Object.fromEntries([...this.#kinds].map(([key, kind]) => [key, kind.total]));
    this.#options.log.info({ occurrences }, msg);
    this.#kinds.clear();
  }
}
