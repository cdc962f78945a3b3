// SIGTERM and SIGINT for a long-running command, taken from its first line on: a stop requested
// while the service is still starting is a clean stop too, handled once it has started.
export class StopSignals {
  #signal: string | undefined;
  readonly #waiters: ((signal: string) => void)[] = [];
  readonly #on = (signal: string): void => {
    if (this.#signal) return;
    this.#signal = signal;
    for (const waiter of this.#waiters.splice(0)) waiter(signal);
  };

  constructor() {
    process.on("SIGTERM", this.#on);
    process.on("SIGINT", this.#on);
  }

  /** the signal received so far, if any */
  get requested(): string | undefined {
    return this.#signal;
  }

  /** resolves with the first signal (at once when it came already) and stops listening */
  async next(): Promise<string> {
    const signal = this.#signal ?? (await new Promise<string>((resolve) => this.#waiters.push(resolve)));
    process.off("SIGTERM", this.#on);
    process.off("SIGINT", this.#on);
    return signal;
  }
}
