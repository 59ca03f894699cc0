/**
 * `itk3 consultation save|finalise|delete|registered-here|show|list`: consultation events and the view of
 * each consultation's versions and their delivery outcomes. Registered on the `itk3` program
 * by client/cli/cli.ts.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ConsultationEventRequest, ConsultationStatus, ConsultationView } from '../../contracts/consultation';
import { ConsultationHttpClient } from '../lib/consultation-client';

export interface ConsultationCommandContext {
  apiUrl(): string;
  asJson(): boolean;
  headers?(): Record<string, string>;
}

const out = (s: string): void => {
  process.stdout.write(s);
};

/** The view without patient data (there is none in it): versions, outcomes, what waits, the timeline. */
export function formatConsultation(v: ConsultationView): string {
  const rows: Array<[string, string | undefined]> = [
    ['consultation', `${v.consultationId} (${v.senderOds})`],
    ['workflow', v.workflowId],
    ['status', v.status],
    ['send due', v.sendDueAt],
    ['waiting content', v.pending ? `event ${v.pending.eventId}, saved ${v.pending.savedAt}, to ${v.pending.recipientOds}` : undefined],
    ['registered here', v.registeredHere ? 'yes: nothing is sent' : undefined],
    ['window', `${v.settings.sendWindowMs / 60_000} min after the last save`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  let s = rows.filter(([, val]) => val).map(([k, val]) => `${k.padEnd(width)}  ${val}\n`).join('');
  s += '\nversions\n';
  if (v.versions.length === 0) s += '  none sent\n';
  for (const x of v.versions) {
    const flags = [x.replaces ? `replaces v${x.replaces.version}` : 'original', x.voided ? 'VOIDED here' : '', x.lateReplacement ? 'after the 24 h guidance' : ''].filter(Boolean).join(', ');
    s += `  ${x.documentId} v${x.version}  ${(x.outcome ?? 'IN FLIGHT').padEnd(10)} ${(x.finalCode ?? '').padEnd(6)} ${x.startedAt}  ${flags}  ${x.workflowId}\n`;
  }
  if (v.escalations.length > 0) {
    s += '\nescalations\n';
    for (const e of v.escalations) s += `  ${e.at}  ${e.reason}\n`;
  }
  s += '\ntimeline\n';
  for (const t of v.timeline) s += `  ${t.at}  ${t.kind.padEnd(15)} ${t.detail}\n`;
  return s;
}

export function registerConsultationCommands(program: Command, ctx: ConsultationCommandContext): void {
  const client = (): ConsultationHttpClient => new ConsultationHttpClient(ctx.apiUrl(), fetch, ctx.headers?.() ?? {});
  const c = program.command('consultation').description('consultation lifecycle: tell ITK3 Courier what happened to a consultation, and see what it sent');
  const send = async (ods: string, id: string, event: ConsultationEventRequest): Promise<void> => {
    const res = await client().event(ods, id, event);
    if (ctx.asJson()) return out(`${JSON.stringify(res)}\n`);
    out(`${res.type} recorded for ${res.workflowId} (event ${res.eventId}${res.resumed ? ', resumed from retirement' : ''})\n`);
  };
  const withEventId = (cmd: Command): Command => cmd.option('--event-id <id>', 'idempotency key of this event (default: a new UUID)');
  const ids = (o: { eventId?: string }): { eventId?: string } => (o.eventId ? { eventId: o.eventId } : {});

  withEventId(
    c
      .command('save')
      .description('the consultation was saved: send this content once the window has passed (a replacement if a version was sent)')
      .argument('<senderOds>')
      .argument('<consultationId>')
      .argument('<file>', 'the content as JSON: a submission without documentId, version and replaces'),
  ).action(async (ods: string, id: string, file: string, o: { eventId?: string }) => {
    let content: unknown;
    try {
      content = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      process.stderr.write(`cannot read ${file}: ${(err as Error).message}\n`);
      process.exit(1);
    }
    // A full submission file is accepted too: the workflow assigns document id, version and replaces.
    const { documentId: _d, version: _v, replaces: _r, ...rest } = content as Record<string, unknown>;
    await send(ods, id, { type: 'saved', ...ids(o), content: rest as never });
  });

  withEventId(c.command('finalise').description('send the latest content now, skipping the rest of the window').argument('<senderOds>').argument('<consultationId>')).action(
    async (ods: string, id: string, o: { eventId?: string }) => send(ods, id, { type: 'finalised', ...ids(o) }),
  );

  withEventId(c.command('delete').description('the consultation was deleted: nothing more is sent (an operator is told if it was reported)').argument('<senderOds>').argument('<consultationId>')).action(
    async (ods: string, id: string, o: { eventId?: string }) => send(ods, id, { type: 'deleted', ...ids(o) }),
  );

  withEventId(
    c
      .command('registered-here')
      .description('the patient is registered at the sending organisation: suppress sending (--not to lift it)')
      .argument('<senderOds>')
      .argument('<consultationId>')
      .option('--not', 'the patient is no longer registered here'),
  ).action(async (ods: string, id: string, o: { eventId?: string; not?: boolean }) => send(ods, id, { type: 'registeredHere', registeredHere: !o.not, ...ids(o) }));

  c.command('show')
    .description('a consultation: status, what waits and when, each version sent and its delivery outcome')
    .argument('<senderOds>')
    .argument('<consultationId>')
    .action(async (ods: string, id: string) => {
      const v = await client().show(ods, id);
      out(ctx.asJson() ? `${JSON.stringify(v, null, 2)}\n` : formatConsultation(v));
    });

  c.command('list')
    .description('consultations by status, e.g. those waiting to send (soonest due first)')
    .option('--status <status>', 'e.g. WAITING_TO_SEND, DELIVERING, SENT, NOT_DELIVERED, SUPPRESSED', 'WAITING_TO_SEND')
    .option('--sender <ods>', 'only this sending organisation')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: { status: string; sender?: string; limit: string }) => {
      const { items } = await client().list({ status: o.status.toUpperCase() as ConsultationStatus, ...(o.sender ? { senderOds: o.sender } : {}), limit: Number(o.limit) });
      if (ctx.asJson()) return out(`${JSON.stringify(items, null, 2)}\n`);
      if (items.length === 0) return out('no consultations\n');
      for (const i of items) out(`${i.workflowId}  ${i.status.padEnd(19)} ${(i.sendDueAt ?? '').padEnd(24)} ${i.recipientOds ?? ''}\n`);
    });
}
