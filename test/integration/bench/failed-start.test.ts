/**
 * The harness of the benchmarks and the cluster runs (bench/lib/courier-system.ts): a system whose API
 * port is taken moves to another port; one whose API fails to start otherwise says why (its log's last lines in the error) and leaves nothing running. A worker left
 * behind would keep the mailbox's inbox poller and take every later system's acknowledgements.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { startCourierSystem } from '../../../bench/lib/courier-system';
import { inboxPollerWorkflowId } from '../../../contracts';
import { testServices } from '../../helpers/services';

jest.setTimeout(180_000);

/** Our mailbox in this test only: not one of the sandbox's, so the short-lived poller takes nobody's messages. */
const MAILBOX = 'X26FAILSTART';

/** Live processes whose environment names this mailbox. */
function processesFor(mailbox: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`MESH_MAILBOX_ID=${mailbox}`);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

describe('a courier system whose API port is taken before the API binds it', () => {
  it('starts the API on another port and serves there', async () => {
    const s = testServices();
    const services = { temporalAddress: s.temporalAddress, namespace: s.namespace, meshUrl: s.meshUrl, sharedKey: s.meshSharedKey, dir: s.dir };
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as net.AddressInfo).port;
    try {
      const system = await startCourierSystem({ services, label: 'port-taken', peerIntervalSeconds: false, env: { MESH_MAILBOX_ID: 'X26PORTTAKEN', ITK3_API_PORT: String(taken) } });
      try {
        expect(system.apiUrl).not.toContain(`:${taken}`);
        expect((await fetch(`${system.apiUrl}/health`)).status).toBe(200);
        // The first API said why it stopped.
        expect(readFileSync(path.join(system.dir, 'api.log'), 'utf8')).toContain('EADDRINUSE');
      } finally {
        await system.stop();
      }
    } finally {
      squatter.close();
    }
  });
});

describe('a courier system whose API does not start', () => {
  it('fails with the API log in the error, and stops its worker and its inbox poller', async () => {
    const s = testServices();
    const services = { temporalAddress: s.temporalAddress, namespace: s.namespace, meshUrl: s.meshUrl, sharedKey: s.meshSharedKey, dir: s.dir };
    const err = await startCourierSystem({
      services,
      label: 'failed-start',
      peerIntervalSeconds: false,
      // Node cannot load the module, so the API exits with code 1 before it listens; the worker is fine.
      apiNodeArgs: ['--require', '/nonexistent/itk3-preload.js'],
      env: { MESH_MAILBOX_ID: MAILBOX },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^API exited with code 1: .*api\.log:\n[\s\S]*Cannot find module '\/nonexistent\/itk3-preload\.js'/);

    // The worker did start (it polled before the API was started): its inbox poller exists, and is ended.
    const connection = await Connection.connect({ address: s.temporalAddress });
    try {
      const poller = await connection.workflowService.describeWorkflowExecution({ namespace: s.namespace, execution: { workflowId: inboxPollerWorkflowId(MAILBOX) } });
      expect(poller.executionConfig?.taskQueue?.name).toMatch(/^failed-start-/);
      expect(poller.workflowExecutionInfo?.status).toBe(5); // WORKFLOW_EXECUTION_STATUS_TERMINATED
    } finally {
      await connection.close();
    }
    expect(processesFor(MAILBOX)).toEqual([]);
  });
});
