#!/usr/bin/env node
/**
 * `itk3`: the operator and integrator CLI over the HTTP API. Exit codes: 0 ok, 1 usage or input
 * problem, 2 the API refused the request, 3 the API could not be reached.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { DeliveryState } from '../contracts';
import { CourierApiError, CourierHttpClient } from './http-client';

// `itk3 status x | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('itk3')
  .description('ITK3 Courier: send GP Connect documents over MESH and follow their acknowledgements')
  .option('--api <url>', 'ITK3 Courier API base URL', process.env.ITK3_API_URL ?? 'http://127.0.0.1:3000')
  .option('--json', 'print machine-readable JSON');

function client(): CourierHttpClient {
  return new CourierHttpClient(program.opts<{ api: string }>().api);
}
const asJson = (): boolean => Boolean(program.opts<{ json?: boolean }>().json);

function printState(state: DeliveryState): void {
  const rows: Array<[string, string]> = [
    ['workflow', state.workflowId],
    ['document', `${state.documentId} v${state.version}`],
    ['status', state.status + (state.escalated ? ' (escalated)' : '')],
    ['waiting for', state.waitingFor + (state.waitingUntil ? ` until ${state.waitingUntil}` : '')],
    ['attempts', String(state.attempts.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  process.stdout.write('\ntimeline\n');
  for (const t of state.timeline) process.stdout.write(`  ${t.at}  ${t.kind.padEnd(11)} ${t.attempt ? `#${t.attempt} ` : ''}${t.detail}\n`);
}

program
  .command('submit')
  .description('submit a Send Document submission (JSON file) for delivery')
  .argument('<file>', 'submission JSON, see examples/')
  .action(async (file: string) => {
    let body: unknown;
    try {
      body = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      process.stderr.write(`cannot read ${file}: ${(err as Error).message}\n`);
      process.exit(1);
    }
    const res = await client().submit(body);
    if (asJson()) process.stdout.write(`${JSON.stringify(res)}\n`);
    else process.stdout.write(`${res.created ? 'submitted' : 'already submitted'}: ${res.workflowId}\n`);
  });

program
  .command('status')
  .description('show the state and timeline of a delivery')
  .argument('<workflowId>')
  .action(async (id: string) => {
    const state = await client().status(id);
    if (asJson()) process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    else printState(state);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CourierApiError) {
    process.stderr.write(`error ${err.status} ${err.error}: ${err.message}\n`);
    for (const i of err.issues) process.stderr.write(`  - ${i.path ? `${i.path}: ` : ''}${i.message}${i.requirementId ? ` [${i.requirementId}]` : ''}\n`);
    process.exit(2);
  }
  process.stderr.write(`cannot reach the ITK3 Courier API: ${(err as Error).message}\n`);
  process.exit(3);
});
