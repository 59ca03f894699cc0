/**
 * The dev server picks free ports for its internal services and binds them a moment later; when another
 * process takes one in between, it exits ("bind: address already in use"). startTemporal, which
 * `npm run up`, the tests and the benchmarks share, then starts it again. Any other early exit is
 * reported at once, with the server's own reason. A wrapper stands in front of the real pinned CLI and
 * fails the way the server does, as many times as a test asks.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { VENV_BIN, freePort, startTemporal, type RunningService } from '../../../scripts/lib/services';

jest.setTimeout(120_000);

const PORT_TAKEN_PANIC = [
  '{"level":"ERROR","msg":"Failed to start gRPC listener","error":"listen tcp 127.0.0.1:32945: bind: address already in use","service":"worker"}',
  'panic: runtime error: invalid memory address or nil pointer dereference',
].join('\n');

/** A `temporal` that fails `failures` times with `output` and exit status 2, then runs the real CLI; counts its starts. */
function flakyTemporal(failures: number, output: string): { binary: string; starts: () => number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-start-'));
  const count = path.join(dir, 'starts');
  writeFileSync(count, '');
  const binary = path.join(dir, 'temporal');
  writeFileSync(
    binary,
    `#!/usr/bin/env bash
echo start >> '${count}'
if [ "$(wc -l < '${count}')" -le ${failures} ]; then
  cat <<'OUT'
${output}
OUT
  exit 2
fi
exec '${path.join(VENV_BIN, 'temporal')}' "$@"
`,
  );
  chmodSync(binary, 0o755);
  return { binary, starts: () => readFileSync(count, 'utf8').split('\n').filter(Boolean).length };
}

describe('startTemporal', () => {
  let server: RunningService | undefined;
  let stderr: jest.SpyInstance | undefined;
  afterEach(async () => {
    stderr?.mockRestore();
    await server?.stop();
    server = undefined;
  });

  it('starts the server again when a port it picked for itself was taken, and says so', async () => {
    const flaky = flakyTemporal(2, PORT_TAKEN_PANIC);
    const said: string[] = [];
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (said.push(String(chunk)), true));
    const port = await freePort();
    server = await startTemporal({ port, namespace: 'start-retry', retentionDays: 1, binary: flaky.binary });
    expect(flaky.starts()).toBe(3);
    expect(said.filter((l) => l.includes('a port it picked for itself was taken'))).toHaveLength(2);
    const connection = await Connection.connect({ address: server.url });
    try {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'start-retry' });
      expect(namespaceInfo?.name).toBe('start-retry');
    } finally {
      await connection.close();
    }
  });

  it('gives up after three starts, with the reason the server gave', async () => {
    const flaky = flakyTemporal(99, PORT_TAKEN_PANIC);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(startTemporal({ port: await freePort(), namespace: 'start-retry', retentionDays: 1, binary: flaky.binary })).rejects.toThrow(
      /exited with code 2 before becoming healthy: .*bind: address already in use/,
    );
    expect(flaky.starts()).toBe(3);
  });

  it('does not start again for any other early exit, and reports it at once', async () => {
    const flaky = flakyTemporal(99, 'Error: unable to open database file: permission denied');
    await expect(startTemporal({ port: await freePort(), namespace: 'start-retry', retentionDays: 1, binary: flaky.binary })).rejects.toThrow(
      'Temporal dev server exited with code 2 before becoming healthy: Error: unable to open database file: permission denied',
    );
    expect(flaky.starts()).toBe(1);
  });
});
