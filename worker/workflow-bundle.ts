/**
 * The workflow code, bundled at build time. Bundling at worker start-up (webpack over the
 * compiled workflows) costs seconds of CPU, during which every restart, deploy and scale-out leaves its
 * task queue unserved; loading a prebuilt bundle is several times faster.
 *
 * `npm run build` (and scripts/setup.sh) run `node dist/worker/workflow-bundle.js` after tsc, which writes
 * `dist/workflow-bundle.js` next to `dist/workflows/`. The worker uses it only when it is at least as new
 * as every compiled workflow file it was built from; otherwise (a tsc-only build, or running from the
 * TypeScript sources as the tests do) it falls back to bundling `workflowsPath` at start-up.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The workflows' entry point: `dist/workflows/index.js` when compiled, `workflows/index.ts` from source. */
export const WORKFLOWS_PATH = require.resolve('../workflows');
/** Where the build writes the bundle (meaningful only for the compiled tree). */
export const WORKFLOW_BUNDLE_PATH = path.join(__dirname, '..', 'workflow-bundle.js');
/** Compiled directories the bundle is made from; a newer file in any of them makes it stale. */
const SOURCE_DIRS = ['workflows', 'contracts', 'itk3'].map((d) => path.join(__dirname, '..', d));

function newestMtimeMs(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(p));
    else if (entry.name.endsWith('.js')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export type WorkflowSource = { workflowBundle: { codePath: string } } | { workflowsPath: string };

/**
 * The prebuilt bundle if it is there and at least as new as every compiled file it is made from, else
 * the workflows path (bundled at start-up). Never a bundle when running from the TypeScript sources.
 */
export function workflowSource(
  opts: { bundlePath?: string; workflowsPath?: string; sourceDirs?: string[] } = {},
): WorkflowSource & { prebuilt: boolean } {
  const bundlePath = opts.bundlePath ?? WORKFLOW_BUNDLE_PATH;
  const workflowsPath = opts.workflowsPath ?? WORKFLOWS_PATH;
  if (workflowsPath.endsWith('.js') && existsSync(bundlePath)) {
    const built = statSync(bundlePath).mtimeMs;
    if ((opts.sourceDirs ?? SOURCE_DIRS).every((d) => newestMtimeMs(d) <= built)) return { workflowBundle: { codePath: bundlePath }, prebuilt: true };
  }
  return { workflowsPath, prebuilt: false };
}

export async function writeWorkflowBundle(out = WORKFLOW_BUNDLE_PATH, workflowsPath = WORKFLOWS_PATH): Promise<{ path: string; bytes: number }> {
  const { code } = await bundleWorkflowCode({ workflowsPath });
  writeFileSync(out, code);
  return { path: out, bytes: Buffer.byteLength(code) };
}

if (require.main === module) {
  writeWorkflowBundle()
    .then(({ path: p, bytes }) => process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), p)} (${Math.round(bytes / 1024)} KiB)\n`))
    .catch((err: unknown) => {
      process.stderr.write(`workflow bundle failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
