/** The burst submitter of the benchmarks (a deadline stops it starting more, so a budgeted run ends on time), and the wait for a status. */
import { submitLoad, waitForStatus, type CourierSystem } from '../../../bench/lib/courier-system';

function fakeSystem(delayMs: number): { system: CourierSystem; calls: () => number } {
  let calls = 0;
  const system = {
    submit: async () => {
      calls++;
      await new Promise((r) => setTimeout(r, delayMs));
      return { workflowId: `wf-${calls}`, tries: 1 };
    },
  } as unknown as CourierSystem;
  return { system, calls: () => calls };
}

describe('submitLoad', () => {
  it('submits every one when no deadline is given', async () => {
    const { system, calls } = fakeSystem(1);
    const out = await submitLoad(system, 40, 4);
    expect(out).toHaveLength(40);
    expect(calls()).toBe(40);
  });

  it('starts none after the deadline, and returns those it did submit', async () => {
    const { system, calls } = fakeSystem(20);
    const out = await submitLoad(system, 1000, 2, undefined, Date.now() + 100);
    // Two at a time, 20 ms each: about ten before the deadline, far fewer than asked for.
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(50);
    expect(calls()).toBe(out.length);
  });

  it('submits nothing when the deadline has already passed', async () => {
    const { system, calls } = fakeSystem(1);
    expect(await submitLoad(system, 10, 2, undefined, Date.now() - 1)).toEqual([]);
    expect(calls()).toBe(0);
  });
});

describe('waitForStatus', () => {
  /** A system whose visibility count follows `counts`, one value per call, then stays at the last. */
  function countingSystem(counts: number[]): CourierSystem {
    let i = 0;
    return { taskQueue: 'tq', client: { workflow: { count: async () => ({ count: counts[Math.min(i++, counts.length - 1)] }) } } } as unknown as CourierSystem;
  }

  it('returns as soon as the count is reached', async () => {
    await expect(waitForStatus(countingSystem([0, 3, 5]), 'DELIVERED', 5, 60_000)).resolves.toBe(5);
  });

  it('with stallMs, gives up once the count has not grown for that long, well before the timeout', async () => {
    const started = Date.now();
    const n = await waitForStatus(countingSystem([1, 2]), 'DELIVERED', 10, 60_000, undefined, { stallMs: 1_500 });
    expect(n).toBe(2);
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('keeps waiting while the count grows, however slowly', async () => {
    // One more each second with a stall limit of 1.5 s: never stalled, so it reaches the count.
    await expect(waitForStatus(countingSystem([0, 1, 2, 3, 4]), 'DELIVERED', 4, 60_000, undefined, { stallMs: 1_500 })).resolves.toBe(4);
  });
});
