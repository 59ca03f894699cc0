/** The burst submitter of the benchmarks: a deadline stops it starting more, so a budgeted run ends on time. */
import { submitLoad, type CourierSystem } from '../../../bench/lib/courier-system';

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
