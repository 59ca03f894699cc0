/**
 * Starts one real Temporal dev server and one real mesh-sandbox for the integration/e2e run, on free
 * loopback ports so that a test run never collides with `npm run up` or with another test run. Their
 * addresses reach the test workers through environment variables (workers inherit this process's env).
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startMeshSandbox, startTemporal, type RunningService } from '../../scripts/lib/services';

export const TEST_NAMESPACE = 'courier-test';
export const TEST_SHARED_KEY = 'TestKey';

declare global {
   
  var __ITK3_SERVICES__: RunningService[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'itk3-test-'));
  const [temporalPort, meshPort] = [await freePort(), await freePort()];
  const [temporal, mesh] = await Promise.all([
    startTemporal({
      port: temporalPort,
      namespace: TEST_NAMESPACE,
      retentionDays: 1,
      dbFile: path.join(dir, 'temporal.sqlite'),
      logFile: path.join(dir, 'temporal.log'),
    }),
    startMeshSandbox({ port: meshPort, sharedKey: TEST_SHARED_KEY, storeMode: 'memory', logFile: path.join(dir, 'mesh.log') }),
  ]);
  globalThis.__ITK3_SERVICES__ = [temporal, mesh];
  process.env.ITK3_TEST_TEMPORAL_ADDRESS = temporal.url;
  process.env.ITK3_TEST_TEMPORAL_NAMESPACE = TEST_NAMESPACE;
  process.env.ITK3_TEST_MESH_URL = mesh.url;
  process.env.ITK3_TEST_MESH_SHARED_KEY = TEST_SHARED_KEY;
  process.env.ITK3_TEST_DIR = dir;
  writeFileSync(path.join(dir, 'services.json'), JSON.stringify({ temporal: temporal.url, mesh: mesh.url }));
}
