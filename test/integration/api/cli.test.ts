/**
 * The `itk3` CLI as an operator runs it (a child process on the TypeScript sources) against the real
 * API: every command, readable tables, --json, and the exit codes (0 ok, 1 usage, 2 refused, 3 unreachable).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, startHarness, type Harness } from '../../helpers/courier-harness';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '../../..');
const example = JSON.parse(readFileSync(path.join(ROOT, 'examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & { encounter: { id: string } };

describe('itk3 CLI', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    // Deadlines far beyond the test: with 3 s, a loaded machine raised the no-ack escalation before `itk3 ack` ran, and the refusal under test became an accepted action.
    h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '1h', ITK3_BUS_ACK_TIMEOUT: '2h' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'itk3-cli-'));
  });
  afterAll(async () => {
    await h?.stop();
  });

  // Asynchronous on purpose: the API runs in this process, so a blocking spawn would starve it.
  function itk3(args: string[], token: string | undefined = h.tokens.operator, api = h.apiUrl): Promise<{ code: number; out: string; err: string }> {
    const child = spawn(process.execPath, ['-r', path.join(__dirname, 'swc-register.js'), path.join(ROOT, 'client/cli/cli.ts'), '--api', api, ...args], {
      env: { ...process.env, ITK3_API_TOKEN: token ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, out, err })));
  }

  function submissionFile(): string {
    const file = path.join(dir, `${randomUUID()}.json`);
    const encounterId = `enc-silent-${randomUUID()}`;
    h.setScenario(encounterId, []);
    writeFileSync(file, JSON.stringify({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: encounterId } }));
    return file;
  }

  it('submits, shows status, timeline and a list, as tables and as JSON', async () => {
    const file = submissionFile();
    const submitted = await itk3(['--json', 'submit', file, '--idempotency-key', `k-${randomUUID()}`], h.tokens.submitter);
    expect(submitted.code).toBe(0);
    const { workflowId } = JSON.parse(submitted.out) as { workflowId: string };
    expect((await itk3(['submit', file], h.tokens.submitter)).out).toBe(`already submitted: ${workflowId}\n`);

    const status = await itk3(['status', workflowId]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`^workflow +${workflowId}$`, 'm'));
    expect(status.out).toContain('timeline');
    expect((await itk3(['timeline', workflowId])).out).toContain('SUBMITTED');

    const list = await itk3(['list', '--recipient', 'X26', '--page-size', '5']);
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^WORKFLOW +STATUS +ESC +RECIPIENT +ATTEMPTS +SUBMITTED +WAITING FOR$/);
    const json = JSON.parse((await itk3(['--json', 'list', '--all', '--recipient', 'X26'])).out) as { items: Array<{ workflowId: string }> };
    expect(json.items.map((i) => i.workflowId)).toContain(workflowId);
  });

  it('runs the operator actions and exits 2 when the API refuses', async () => {
    const file = submissionFile();
    const { workflowId } = JSON.parse((await itk3(['--json', 'submit', file])).out) as { workflowId: string };
    await eventually(async () => ((await h.api.status(workflowId)).status === 'AWAITING_INFRASTRUCTURE_ACK' ? true : undefined), 30_000, 'sent');

    const deadlines = await itk3(['deadlines', workflowId, '--reason', 'practice closed today', '--business-ack', '3d']);
    expect(deadlines.code).toBe(0);
    expect(deadlines.out).toMatch(/^changeDeadlines accepted at .*: now AWAITING_INFRASTRUCTURE_ACK/);

    const forbidden = await itk3(['abandon', workflowId, '--reason', 'x'], h.tokens.submitter);
    expect(forbidden.code).toBe(2);
    expect(forbidden.err).toContain('error 403 FORBIDDEN');

    const notAllowed = await itk3(['ack', workflowId, '--note', 'nothing is escalated yet']);
    expect(notAllowed.code).toBe(2);
    expect(notAllowed.err).toContain('error 409 ACTION_NOT_ALLOWED (NO_OPEN_ESCALATION): there is no open escalation');

    const abandoned = await itk3(['--json', 'abandon', workflowId, '--reason', 'sent by post']);
    expect(abandoned.code).toBe(0);
    expect(JSON.parse(abandoned.out)).toMatchObject({ action: 'abandon', status: 'ABANDONED' });

    const missing = await itk3(['--json', 'status', `send-document-${randomUUID()}-v1`]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.err)).toMatchObject({ status: 404, error: 'NOT_FOUND' });
  });

  it('exits 1 on usage problems and 3 when the API cannot be reached', async () => {
    expect((await itk3(['submit', path.join(dir, 'no-such-file.json')])).code).toBe(1);
    expect((await itk3(['deadlines', 'send-document-x-v1', '--reason', 'r'])).code).toBe(1);
    expect((await itk3(['no-such-command'])).code).toBe(1);
    const unreachable = await itk3(['status', 'send-document-x-v1'], h.tokens.operator, 'http://127.0.0.1:9');
    expect(unreachable.code).toBe(3);
    expect(unreachable.err).toContain('cannot reach the ITK3 Courier API');
    expect((await itk3(['--help'])).code).toBe(0);
  });
});
