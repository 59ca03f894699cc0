/**
 * The workflow bundle made at build time (worker/workflow-bundle.ts): written to a file, it
 * replays the committed poller and delivery histories (so a worker started on it runs the same code as
 * one that bundles at start-up), and the worker picks it only when it is newer than every compiled
 * workflow file, falling back to bundling at start-up otherwise.
 */
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowSource, writeWorkflowBundle } from '../../worker/workflow-bundle';
import { installQuietRuntime } from './support';
import { historyFromJSON } from '../replay/history-json';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '../..');

it('a bundle written to a file replays committed histories', async () => {
  installQuietRuntime();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-bundle-'));
  const out = path.join(dir, 'workflow-bundle.js');
  const { bytes } = await writeWorkflowBundle(out, path.join(REPO, 'workflows/index.ts'));
  expect(bytes).toBeGreaterThan(100_000);
  const cases = [
    { file: path.join(__dirname, 'inbound-histories/inbox-poller.json'), workflowId: 'mesh-inbox-poller-X26ABC1' },
    { file: path.join(REPO, 'test/replay/histories/delivered.json'), workflowId: 'delivered' },
  ];
  for (const { file, workflowId } of cases) {
    const history = historyFromJSON(readFileSync(file, 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: out } }, history, workflowId);
  }
});

describe('workflowSource', () => {
  function tree() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-src-'));
    const workflows = path.join(dir, 'workflows');
    mkdirSync(workflows);
    const entry = path.join(workflows, 'index.js');
    writeFileSync(entry, '');
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    const at = (file: string, seconds: number): void => utimesSync(file, seconds, seconds);
    return { dir, workflows, entry, bundlePath, at };
  }

  it('uses the bundle when it is newer than every compiled workflow file', () => {
    const t = tree();
    writeFileSync(t.bundlePath, '');
    t.at(t.entry, 1_000);
    t.at(t.bundlePath, 2_000);
    expect(workflowSource({ bundlePath: t.bundlePath, workflowsPath: t.entry, sourceDirs: [t.workflows] })).toEqual({ workflowBundle: { codePath: t.bundlePath }, prebuilt: true });
  });

  it('bundles at start-up when the bundle is stale, missing, or the code runs from TypeScript', () => {
    const t = tree();
    const nested = path.join(t.workflows, 'deep');
    mkdirSync(nested);
    writeFileSync(path.join(nested, 'changed.js'), '');
    writeFileSync(t.bundlePath, '');
    t.at(t.entry, 1_000);
    t.at(t.bundlePath, 2_000);
    t.at(path.join(nested, 'changed.js'), 3_000); // compiled again after the bundle was made
    expect(workflowSource({ bundlePath: t.bundlePath, workflowsPath: t.entry, sourceDirs: [t.workflows] })).toEqual({ workflowsPath: t.entry, prebuilt: false });
    expect(workflowSource({ bundlePath: path.join(t.dir, 'none.js'), workflowsPath: t.entry, sourceDirs: [t.workflows] }).prebuilt).toBe(false);
    const ts = path.join(t.workflows, 'index.ts');
    expect(workflowSource({ bundlePath: t.bundlePath, workflowsPath: ts, sourceDirs: [] })).toEqual({ workflowsPath: ts, prebuilt: false });
  });
});
