// The quarantine breaker: stops the sink from quarantining records the cloud refuses one by one
// when the refusals are systemic (an InfluxDB field type conflict on a whole measurement, a cloud
// stricter than this gateway's contract, a gateway clock before 2001) rather than about a few bad
// records. Every record in the buffer passed the gateway's own validation, so a run of refusals
// says more about the cloud than about the records.
//
// Policy, judged per 200 reply that answers records (`stored` and `refused` are counts of the batch's
// records):
// - a reply that stores at least as many records as it refuses resets the streak and closes the
//   breaker (a successful delivery): its refusals are the records' own, and are quarantined;
// - a reply that refuses more than it stores adds its refusals to the streak; at `refusalsToTrip`
//   the breaker opens, before that reply's refusals are quarantined;
// - while open, refused records are not quarantined: the sink gives them back to the buffer, backs
//   off and sends one batch at a time (the probe) until a reply closes the breaker.
// Why a streak of majority-refusing replies, not a rate over a window: a systemic refusal usually
// refuses whole batches, so with a backlog the first reply trips it and nothing is quarantined;
// with a trickle (one record per batch) at most refusalsToTrip - 1 records are quarantined before
// it trips. A refusal rate over the last W records, after a good period, would quarantine up to W/2
// refused records before the rate crossed one half. Scattered bad records among stored ones never reach
// the threshold, whatever the traffic. The price of a false trip (a site whose only traffic is bad
// records) is a stall with an alarm, never a loss.
export type BreakerVerdict = "quarantine" | "hold";

/** Records refused in a row (in replies refusing more than they store) before the breaker opens. */
export const DEFAULT_QUARANTINE_BREAKER_REFUSALS = 10;

export class QuarantineBreaker {
  #streak = 0;
  #open = false;

  constructor(
    readonly refusalsToTrip: number,
    private readonly changed: (open: boolean, streak: number) => void,
  ) {}

  get open(): boolean {
    return this.#open;
  }

  /** records refused in a row (in replies refusing more than they store) */
  get streak(): number {
    return this.#streak;
  }

  /** One 200 reply: whether its refused records may be quarantined. */
  observe(stored: number, refused: number): BreakerVerdict {
    if (refused === 0 && stored === 0) return this.#open ? "hold" : "quarantine";
    if (refused <= stored) {
      this.#streak = 0;
      if (this.#open) {
        this.#open = false;
        this.changed(false, 0);
      }
      return "quarantine";
    }
    this.#streak += refused;
    if (!this.#open && this.#streak >= this.refusalsToTrip) {
      this.#open = true;
      this.changed(true, this.#streak);
    }
    return this.#open ? "hold" : "quarantine";
  }
}
