/**
 * Start-up connection to Temporal (worker/compose.ts connectAtStartup): the API and the worker wait for
 * a Temporal that is not there yet instead of exiting on the first failure, say what they wait for, and
 * give up after ITK3_TEMPORAL_CONNECT_WAIT with an error naming the address.
 */
import net from 'node:net';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../../config/env';
import { connectAtStartup, temporalConnectionOptions } from '../../../worker/compose';
import { configProblems, newKey } from '../../helpers/config-problems';

const base = { STORE_KEYS: `s1:${newKey()}`, ITK3_RECIPIENT_MAILBOX: 'X26ABC2', ITK3_CODEC_KEYS: `c1:${newKey()}` };

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('connectAtStartup', () => {
  it('waits two minutes by default, and refuses a wait that is not a duration', () => {
    expect(loadConfig(base).env.ITK3_TEMPORAL_CONNECT_WAIT).toBe(120_000);
    expect(loadConfig({ ...base, ITK3_TEMPORAL_CONNECT_WAIT: '30s' }).env.ITK3_TEMPORAL_CONNECT_WAIT).toBe(30_000);
    expect(configProblems({ ...base, ITK3_TEMPORAL_CONNECT_WAIT: 'soon' }).join('\n')).toContain('ITK3_TEMPORAL_CONNECT_WAIT');
  });

  it('tries again after each failure, waiting longer each time, and logs the address (never exits on the first)', async () => {
    const config = loadConfig({ ...base, TEMPORAL_ADDRESS: 'temporal.internal:7233', ITK3_TEMPORAL_CONNECT_WAIT: '1m' });
    const warnings: Array<Record<string, unknown>> = [];
    const waits: number[] = [];
    const tryTimeouts: number[] = [];
    let calls = 0;
    const result = await connectAtStartup(
      config,
      { warn: (obj: Record<string, unknown>) => void warnings.push(obj) } as never,
      async (tryTimeoutMs) => {
        tryTimeouts.push(tryTimeoutMs);
        calls += 1;
        if (calls < 5) throw new Error('Failed to connect before the deadline');
        return 'connected';
      },
      async (ms) => void waits.push(ms),
    );
    expect(result).toBe('connected');
    expect(calls).toBe(5);
    expect(waits).toEqual([250, 500, 1000, 2000]);
    expect(warnings).toHaveLength(4);
    // A try never takes longer than five seconds, so the first warning comes soon.
    expect(tryTimeouts.every((ms) => ms === 5_000)).toBe(true);
    expect(warnings[0]).toMatchObject({ address: 'temporal.internal:7233', attempt: 1, reason: 'Failed to connect before the deadline' });
  });

  it('never waits more than five seconds between tries', async () => {
    const config = loadConfig({ ...base, ITK3_TEMPORAL_CONNECT_WAIT: '1h' });
    const waits: number[] = [];
    let calls = 0;
    await connectAtStartup(config, { warn: () => undefined } as never, async () => {
      if (++calls < 10) throw new Error('refused');
      return calls;
    }, async (ms) => void waits.push(ms));
    expect(Math.max(...waits)).toBe(5_000);
    expect(waits.slice(-3)).toEqual([5_000, 5_000, 5_000]);
  });

  it('shortens the last try to what is left of the wait (but gives each try at least a second)', async () => {
    const config = loadConfig({ ...base, ITK3_TEMPORAL_CONNECT_WAIT: '2s' });
    const tryTimeouts: number[] = [];
    await expect(connectAtStartup(config, { warn: () => undefined } as never, async (ms) => {
      tryTimeouts.push(ms);
      throw new Error('refused');
    }, async () => undefined)).rejects.toThrow('did not answer within 2 s');
    expect(tryTimeouts[0]).toBeLessThanOrEqual(2_000);
    expect(tryTimeouts[0]).toBeGreaterThan(1_500);
    expect(Math.min(...tryTimeouts)).toBeGreaterThanOrEqual(1_000);
  });

  it('gives up after the wait with the address, the wait and the last error, against a real refused port', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const config = loadConfig({ ...base, TEMPORAL_ADDRESS: address, ITK3_TEMPORAL_CONNECT_WAIT: '2s' });
    let tries = 0;
    const started = Date.now();
    const failure = connectAtStartup(config, { warn: () => void tries++ } as never, () => NativeConnection.connect(temporalConnectionOptions(config.env)));
    await expect(failure).rejects.toThrow(new RegExp(`Temporal at ${address.replace(/\./g, '\\.')} did not answer within 2 s \\(ITK3_TEMPORAL_CONNECT_WAIT\\); last error: .*Connection refused`));
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
