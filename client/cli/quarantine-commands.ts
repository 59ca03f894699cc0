/**
 * `itk3 quarantine list|show|reroute|resolve`: the operator's view of inbound MESH messages that could
 * not be routed to a delivery. Registered on the `itk3` program by client/cli/cli.ts.
 */
import type { Command } from 'commander';
import type { QuarantineReason } from '../../contracts/inbound';
import { QUARANTINE_ACTION_NAMES, QUARANTINE_ACTIONS } from '../../contracts/quarantine-actions';
import { QuarantineHttpClient } from '../lib/quarantine-client';
import { actionBody, actionHelp, addActionOptions } from './action-options';

export interface QuarantineCommandContext {
  apiUrl(): string;
  asJson(): boolean;
  headers?(): Record<string, string>;
}

const out = (s: string): void => {
  process.stdout.write(s);
};

export function registerQuarantineCommands(program: Command, ctx: QuarantineCommandContext): void {
  const client = (): QuarantineHttpClient => new QuarantineHttpClient(ctx.apiUrl(), fetch, ctx.headers?.() ?? {});
  const q = program.command('quarantine').description('inbound MESH messages that matched no delivery: list, show, reroute, resolve');

  q.command('list')
    .description('list quarantine entries (open ones by default)')
    .option('--status <status>', 'OPEN, REROUTED, AUTO_ROUTED, RESOLVED or ALL', 'OPEN')
    .option('--reason <reason>', 'only this reason, e.g. MALFORMED, UNMATCHED_RESPONSE')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (opts: { status: string; reason?: string; limit: string }) => {
      const { items } = await client().list({ status: opts.status.toUpperCase(), ...(opts.reason ? { reason: opts.reason.toUpperCase() as QuarantineReason } : {}), limit: Number(opts.limit) });
      if (ctx.asJson()) return out(`${JSON.stringify(items, null, 2)}\n`);
      if (items.length === 0) return out('no entries\n');
      for (const i of items) {
        // An entry the API could not decode has no code or time to show: say why instead of leaving blanks.
        const note = i.undecodable ? `${i.undecodable.message} (key ${i.undecodable.keyIds.join(', ')})` : (i.receivedAt ?? '');
        out(`${i.quarantineId}  ${i.status.padEnd(11)} ${i.reason.padEnd(30)} ${(i.code ?? '').padEnd(7)} ${note}\n`);
      }
    });

  q.command('show')
    .description('show one entry: why it is here, what could be read, who acted')
    .argument('<quarantineId>')
    .option('--content', 'also print the message as MESH delivered it (may hold patient data)')
    .action(async (id: string, opts: { content?: boolean }) => {
      const e = await client().show(id, Boolean(opts.content));
      if (ctx.asJson()) return out(`${JSON.stringify(e, null, 2)}\n`);
      const rows: Array<[string, string | undefined]> = [
        ['entry', e.quarantineId],
        ['status', e.status],
        ['reason', `${e.reason}: ${e.detail}`],
        ['mailbox', e.mailboxId],
        ['MESH message', `${e.meshMessageId} (${e.messageType}${e.meshWorkflowId ? ` on ${e.meshWorkflowId}` : ''})`],
        ['received', e.receivedAt],
        ['raised', e.raisedAt],
        ['code', e.summary.code ?? e.summary.statusCode],
        ['responds to', e.summary.respondsTo],
        ['SenderReference', e.summary.senderReference],
        ['sent by', e.summary.senderMailbox || e.summary.senderOds ? `mailbox ${e.summary.senderMailbox ?? '(none)'}, ODS ${e.summary.senderOds ?? '(none)'}` : undefined],
        ['expected', e.summary.expectedMailbox || e.summary.expectedOds ? `mailbox ${e.summary.expectedMailbox ?? '(unknown)'}, ODS ${e.summary.expectedOds ?? '(unknown)'}` : undefined],
        ['linked message', e.summary.linkedMessageId],
        ['candidates', e.candidates.join(', ') || undefined],
        ['resolution', e.resolution ? `${e.resolution.actor} at ${e.resolution.at}: ${e.resolution.reason}${e.resolution.targetWorkflowId ? ` -> ${e.resolution.targetWorkflowId}` : ''}` : undefined],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) if (v) out(`${k.padEnd(width)}  ${v}\n`);
      if (e.content) out(`\ncontent (${e.content.encoding})\n${e.content.body}\n`);
    });

  // One subcommand per quarantine action of the registry (contracts/quarantine-actions.ts).
  for (const name of QUARANTINE_ACTION_NAMES) {
    const action = QUARANTINE_ACTIONS[name];
    addActionOptions(q.command(action.cli.command).description(actionHelp(action.summary)).argument('<quarantineId>'), action.cli.options).action(
      async (id: string, opts: Record<string, unknown>) => {
        const res = await client().action(name, id, (await actionBody(action.cli.options, opts)).body);
        if (ctx.asJson()) return out(`${JSON.stringify(res)}\n`);
        const routed = res.targetWorkflowId ? ` to ${res.targetWorkflowId} (${res.signal ?? ''}${res.code ? ` ${res.code}` : ''})` : '';
        out(`${res.quarantineId}: ${res.status}${routed}\n`);
      },
    );
  }
}
