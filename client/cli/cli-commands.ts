/**
 * The delivery commands of `itk3`, one per API operation: submit, status, timeline, list, and one per
 * operator action of the registry (contracts/operator-actions.ts gives each its command, help and
 * options). Human-readable tables by default, `--json` for scripts. Registered on the program by
 * client/cli/cli.ts.
 */
import type { Command } from 'commander';
import type { DeliveryState, OperatorActionResult, TimelineEntry } from '../../contracts';
import { OPERATOR_ACTION_NAMES, OPERATOR_ACTIONS, type OperatorActionSpec } from '../../contracts/operator-actions';
import { CliUsageError, actionBody, actionHelp, addActionOptions, readJson } from './action-options';
import type { DeliverySummary } from '../lib/api-schemas';
import type { CourierHttpClient } from '../lib/http-client';

export interface CliContext {
  client(): CourierHttpClient;
  asJson(): boolean;
}

export { CliUsageError };

const out = (s: string): void => void process.stdout.write(s);

/** Columns padded to the widest cell; long cells are not cut (ids must stay copyable). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export function formatState(state: DeliveryState): string {
  const open = state.escalations?.find((e) => !e.resolvedAt);
  const rows: Array<[string, string]> = [
    ['workflow', state.workflowId],
    ['document', `${state.documentId} v${state.version}`],
    ['route', state.senderOds && state.recipientOds ? `${state.senderOds} -> ${state.recipientOds}` : ''],
    ['status', state.status + (state.escalated ? ' (escalated)' : '')],
    ['waiting for', state.waitingFor + (state.waitingUntil ? ` until ${state.waitingUntil}` : '')],
    ['attempts', String(state.attempts.length)],
    ...(open
      ? ([['escalation', `${open.id}: ${open.reason}${open.acknowledged ? ` (acknowledged by ${open.acknowledged.actor})` : ' (not acknowledged)'}`]] as Array<[string, string]>)
      : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.filter(([, v]) => v).map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('') + '\ntimeline\n' + formatTimeline(state.timeline);
}

export function formatTimeline(timeline: TimelineEntry[]): string {
  return timeline
    .map((t) => {
      // Operator entries say who and why; a reroute also names the quarantine entry it came from.
      const tags = [t.actor, t.reason ? `reason: ${t.reason}` : undefined, t.quarantineId].filter(Boolean).join('; ');
      return `  ${t.at}  ${t.kind.padEnd(11)} ${t.attempt ? `#${t.attempt} ` : ''}${t.detail}${tags ? ` [${tags}]` : ''}\n`;
    })
    .join('');
}

export function formatList(items: DeliverySummary[]): string {
  if (items.length === 0) return 'no deliveries\n';
  return table(
    ['WORKFLOW', 'STATUS', 'ESC', 'RECIPIENT', 'ATTEMPTS', 'SUBMITTED', 'WAITING FOR'],
    items.map((i) => [i.workflowId, i.status ?? '?', i.escalated ? 'yes' : '', i.recipientOds ?? '', String(i.attemptCount ?? ''), i.submittedAt, i.waitingFor ?? '']),
  );
}

function formatResult(r: OperatorActionResult): string {
  const extra = r.replacementWorkflowId ? `; replacement ${r.replacementWorkflowId} (v${r.replacementVersion})` : '';
  return `${r.action} accepted at ${r.at}: now ${r.status}, waiting for ${r.waitingFor}${r.waitingUntil ? ` until ${r.waitingUntil}` : ''} (attempt ${r.attempt})${extra}\n`;
}

export function registerDeliveryCommands(program: Command, ctx: CliContext): void {
  const print = (json: unknown, human: () => string): void => out(ctx.asJson() ? `${JSON.stringify(json, null, 2)}\n` : human());

  program
    .command('submit')
    .description('submit a Send Document submission (JSON file) for delivery')
    .argument('<file>', 'submission JSON, see examples/')
    .option('--idempotency-key <key>', 'retry-safe: the same key and body return the same delivery')
    .action(async (file: string, o: { idempotencyKey?: string }) => {
      const res = await ctx.client().submit(await readJson(file), o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {});
      print(res, () => `${res.created ? 'submitted' : 'already submitted'}: ${res.workflowId}\n`);
    });

  program
    .command('status')
    .description('show the state of a delivery, with its timeline')
    .argument('<workflowId>')
    .action(async (id: string) => {
      const state = await ctx.client().status(id);
      print(state, () => formatState(state));
    });

  program
    .command('timeline')
    .description('show what happened to a delivery, in order')
    .argument('<workflowId>')
    .action(async (id: string) => {
      const t = await ctx.client().timeline(id);
      print(t, () => formatTimeline(t.timeline));
    });

  program
    .command('list')
    .description('list deliveries, newest first')
    .option('--status <statuses>', 'delivery status(es), comma-separated, e.g. AWAITING_BUSINESS_ACK')
    .option('--recipient <ods>', 'recipient practice ODS code')
    .option('--sender <ods>', 'sender ODS code')
    .option('--escalated', 'only deliveries with an open escalation')
    .option('--not-escalated', 'only deliveries without one')
    .option('--from <datetime>', 'submitted at or after (ISO 8601)')
    .option('--to <datetime>', 'submitted before (ISO 8601)')
    .option('--page-size <n>', 'deliveries per page', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow every page')
    .action(async (o: { status?: string; recipient?: string; sender?: string; escalated?: boolean; notEscalated?: boolean; from?: string; to?: string; pageSize: string; cursor?: string; all?: boolean }) => {
      if (o.escalated && o.notEscalated) throw new CliUsageError('--escalated and --not-escalated exclude each other');
      const query = {
        ...(o.status ? { status: o.status.toUpperCase() } : {}),
        ...(o.recipient ? { recipientOds: o.recipient.toUpperCase() } : {}),
        ...(o.sender ? { senderOds: o.sender.toUpperCase() } : {}),
        ...(o.escalated ? { escalated: true } : o.notEscalated ? { escalated: false } : {}),
        ...(o.from ? { submittedFrom: o.from } : {}),
        ...(o.to ? { submittedTo: o.to } : {}),
        pageSize: Number(o.pageSize),
      };
      if (o.all) {
        const items: DeliverySummary[] = [];
        for await (const i of ctx.client().listAll(query)) items.push(i);
        print({ items }, () => formatList(items));
        return;
      }
      const page = await ctx.client().list({ ...query, ...(o.cursor ? { cursor: o.cursor } : {}) });
      print(page, () => formatList(page.items) + (page.nextCursor ? `\nmore: itk3 list ... --cursor ${page.nextCursor}\n` : ''));
    });

  for (const name of OPERATOR_ACTION_NAMES) {
    const action = OPERATOR_ACTIONS[name];
    const command = addActionOptions(program.command(action.cli.command).description(operatorHelp(action)).argument('<workflowId>'), action.cli.options);
    command.action(async (id: string, opts: Record<string, unknown>) => {
      const r = await ctx.client().operatorActionJson(name, id, await operatorBody(action, opts));
      print(r, () => formatResult(r));
    });
  }
}

/** The help line of an action's command: the registry's summary, marked as needing the operator role. */
export function operatorHelp(action: OperatorActionSpec): string {
  return actionHelp(action.summary);
}

/** The request body from an action's parsed options; changing deadlines needs at least one. */
async function operatorBody(action: OperatorActionSpec, opts: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { body, deadlines } = await actionBody(action.cli.options, opts);
  if (action.changesDeadlines) {
    if (Object.keys(deadlines).length === 0) throw new CliUsageError('name at least one deadline to change');
    body.deadlines = deadlines;
  }
  return body;
}
