/**
 * scripts/lib/scratch.sh, which the test scripts source: every temporary directory a run's processes make
 * lands in one scratch directory, removed when the run passes, kept and named when it fails or when asked,
 * and the run's exit status is never changed by the clearing up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRATCH = path.resolve(__dirname, '../../../scripts/lib/scratch.sh');

/** Runs a script that sources the helper, makes directories the way a test run does, and exits with `status`. */
function run(status: number, env: Record<string, string> = {}): { status: number | null; stderr: string; scratch: string; made: string[] } {
  const script = `
    set -euo pipefail
    source "$1"; itk3_scratch unit
    echo "scratch=$ITK3_SCRATCH"
    echo "node=$(node -e 'console.log(require("fs").mkdtempSync(require("path").join(require("os").tmpdir(), "from-node-")))')"
    echo "python=$(python3 -c 'import tempfile; print(tempfile.mkdtemp(prefix="from-python-"))')"
    echo "mktemp=$(mktemp -d)"
    exit ${status}`;
  const r = spawnSync('bash', ['-c', script, 'test', SCRATCH], { encoding: 'utf8', env: { ...process.env, TMPDIR: parent, ...env } });
  const value = (key: string): string => r.stdout.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
  return { status: r.status, stderr: r.stderr, scratch: value('scratch'), made: ['node', 'python', 'mktemp'].map(value) };
}

let parent: string;
beforeEach(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), 'scratch-test-'));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

describe('scripts/lib/scratch.sh', () => {
  it("puts Node's, Python's and mktemp's temporary directories inside the run's scratch, below TMPDIR", () => {
    const r = run(0, { ITK3_KEEP_SCRATCH: '1' });
    expect(path.dirname(r.scratch)).toBe(parent);
    expect(path.basename(r.scratch)).toMatch(/^itk3-unit\./);
    for (const dir of r.made) {
      expect(path.dirname(dir)).toBe(r.scratch);
      expect(statSync(dir).isDirectory()).toBe(true);
    }
    // PostgreSQL runs as its own user and must pass through; nobody else may list what is inside.
    expect(statSync(r.scratch).mode & 0o777).toBe(0o711);
  });

  it('removes the scratch, and everything in it, when the run passes', () => {
    const r = run(0);
    expect(r.status).toBe(0);
    expect(r.scratch).not.toBe('');
    expect(existsSync(r.scratch)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('keeps the scratch and names it when the run fails, with the exit status unchanged', () => {
    const r = run(3);
    expect(r.status).toBe(3);
    expect(existsSync(r.scratch)).toBe(true);
    expect(r.made.every((d) => existsSync(d))).toBe(true);
    expect(r.stderr).toContain(`scratch kept (exit status 3): ${r.scratch}`);
  });

  it('keeps it on request after a passing run (ITK3_KEEP_SCRATCH=1)', () => {
    const r = run(0, { ITK3_KEEP_SCRATCH: '1' });
    expect(r.status).toBe(0);
    expect(existsSync(r.scratch)).toBe(true);
    expect(r.stderr).toContain(r.scratch);
  });
});
