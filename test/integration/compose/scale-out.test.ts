/**
 * The compose topology without Docker (scripts/scale-out.ts): several worker processes against one
 * Temporal server share the work. Every document is delivered, and activity executions are spread over
 * at least two worker identities, counted both from each worker's /metrics and from the histories.
 */
import path from 'node:path';
import { runScaleOut } from '../../../scripts/scale-out';
import { testServices } from '../../helpers/services';

jest.setTimeout(300_000);

const ROOT = path.join(__dirname, '../../..');
const entry = { worker: 'worker/main.ts', api: 'client/api/api-main.ts', codec: 'codec/main.ts' } as const;

describe('scale-out without Docker', () => {
  it('spreads the work of one batch across worker processes', async () => {
    const s = testServices();
    const lines: string[] = [];
    const result = await runScaleOut({
      workers: 3,
      documents: 12,
      temporalAddress: s.temporalAddress,
      namespace: s.namespace,
      meshUrl: s.meshUrl,
      meshSharedKey: s.meshSharedKey,
      // The test runs the TypeScript sources; `npm run scale-out` runs dist/.
      command: (role) => ({ cmd: process.execPath, args: ['-r', path.join(ROOT, 'test/integration/api/swc-register.js'), path.join(ROOT, entry[role])] }),
      log: (l) => lines.push(l),
    });
    expect(result.delivered).toBe(12);
    const busy = Object.entries(result.byHistory).filter(([, n]) => n > 0);
    expect(busy.length).toBeGreaterThanOrEqual(2);
    // 12 deliveries, each built and sent by one activity, all accounted for by the three workers.
    expect(Object.values(result.byHistory).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);
    expect(Object.keys(result.byHistory).every((id) => id.startsWith('scale-worker-'))).toBe(true);
    // The metrics agree that more than one worker executed activities.
    expect(Object.values(result.byMetrics).filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(lines.join('\n')).toContain('activity executions per worker');
  });
});
