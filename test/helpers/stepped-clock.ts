/**
 * Steps this process's wall clock (Date and Date.now) by `offsetMs` while `work` runs, as NTP or a
 * resumed VM steps a machine's clock; monotonic clocks (performance.now, timers) do not move. The
 * offset can be changed while `work` runs through the `step` it is given.
 */
export async function withSteppedClock<T>(work: (step: (offsetMs: number) => void) => Promise<T>): Promise<T> {
  const RealDate = Date;
  let offset = 0;
  class SteppedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }
    static override now() {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = SteppedDate as DateConstructor;
  try {
    return await work((ms) => (offset = ms));
  } finally {
    globalThis.Date = RealDate;
  }
}
