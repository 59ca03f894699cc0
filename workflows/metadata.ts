/**
 * What the Temporal Web UI shows about the consultation, quarantine and inbox-poller workflows: a static
 * summary and details given at start, and current details (markdown) kept up to date by each workflow.
 * Pure: no Temporal imports, time passed in, safe from Node code (the starters use the static texts).
 *
 * Everything here is built from ids, ODS codes, codes, statuses and times only. These workflows never
 * hold patient data (content travels as claim checks), and the texts must not echo any either: they are
 * stored in plaintext in history and shown to anyone who can open the UI.
 */
import type { ConsultationKey, ConsultationStatus, ConsultationView } from '../contracts/consultation';
import type { QuarantineEntry, QuarantineInput } from '../contracts/inbound';

/** What a consultation workflow is doing now (the shell's current step, in words). */
export type ConsultationWaiting =
  | { for: 'sendWindow'; until: number }
  | { for: 'retirement'; until: number }
  | { for: 'deliveryOutcome' }
  | { for: 'nothing'; doing: string };

const consultationRoute = (k: ConsultationKey): string => `/v1/consultations/${k.senderOds}/${k.consultationId}`;

/** One line for the workflow list and the top of the workflow page. */
export function consultationStaticSummary(key: ConsultationKey): string {
  return `Consultation ${key.consultationId} from ${key.senderOds}`;
}

export function consultationStaticDetails(key: ConsultationKey): string {
  return [
    `**Consultation** \`${key.consultationId}\` of sending organisation **${key.senderOds}**.`,
    'Sends the latest saved content to the registered practice once the send window after the last save ends (or at once on finalise), then replacements as new versions.',
    `Events: \`itk3 consultation save|finalise|delete|registered-here ${key.senderOds} ${key.consultationId}\` · \`POST ${consultationRoute(key)}/events\`.`,
    `View: \`itk3 consultation show ${key.senderOds} ${key.consultationId}\` · \`GET ${consultationRoute(key)}\` · query \`consultationView\`.`,
  ].join('\n\n');
}

/** Operator actions that fit a consultation in this status: CLI line, API route and signal with its input. */
function consultationActions(view: ConsultationView): string[] {
  const ods = view.senderOds;
  const id = view.consultationId;
  const route = `POST ${consultationRoute(view)}/events`;
  // The signal is what the API sends; an event id makes a retry harmless, so the operator must give a new one.
  const signal = (body: string): string => `signal \`consultationEvent\` \`{${body}, "eventId": "<new id>", "occurredAt": "<ISO time>"}\``;
  const finalise = `- **Send now** (skip the rest of the window): \`itk3 consultation finalise ${ods} ${id}\` · \`${route}\` \`{"type": "finalised"}\` · ${signal('"type": "finalised"')}`;
  const remove = `- **Deleted in the sending system**: \`itk3 consultation delete ${ods} ${id}\` · \`${route}\` \`{"type": "deleted"}\` · ${signal('"type": "deleted"')}`;
  const save = `- **New content**: \`itk3 consultation save ${ods} ${id} <content.json>\` · \`${route}\` \`{"type": "saved", "content": {...}}\` (through the API only: it stores the content encrypted)`;
  const inFlight = view.versions.find((v) => v.outcome === undefined);
  const follow = inFlight ? [`- **Follow the delivery in flight**: \`itk3 status ${inFlight.workflowId}\` · \`GET /v1/documents/${inFlight.workflowId}\``] : [];
  const byStatus: Record<ConsultationStatus, string[]> = {
    AWAITING_CONTENT: [save, remove],
    WAITING_TO_SEND: [finalise, save, remove],
    DELIVERING: [...follow, save, remove],
    WAITING_FOR_OUTCOME: [...follow, remove],
    SENT: [save, remove],
    NOT_DELIVERED: [save, remove],
    SUPPRESSED: [
      `- **Patient no longer registered here** (sending resumes): \`itk3 consultation registered-here ${ods} ${id} --not\` · \`${route}\` \`{"type": "registeredHere", "registeredHere": false}\` · ${signal('"type": "registeredHere", "registeredHere": false')}`,
      remove,
    ],
    DELETED: ['- Nothing to send any more; act on the open escalation below, if there is one.'],
    RETIRED: [`- Any new event resumes it: \`${route}\``],
  };
  return byStatus[view.status];
}

function waitingText(w: ConsultationWaiting, view: ConsultationView): string {
  switch (w.for) {
    case 'sendWindow':
      return `the send window to end, until **${iso(w.until)}**; then the content saved by event \`${view.pending?.eventId ?? '?'}\` is sent to practice ${view.pending?.recipientOds ?? '?'}`;
    case 'retirement':
      return `the next event; with none, it retires at **${iso(w.until)}**`;
    case 'deliveryOutcome': {
      const v = view.versions.find((x) => x.outcome === undefined);
      return v ? `the outcome of delivery \`${v.workflowId}\` (document ${v.documentId} v${v.version})${view.pending ? '; newer content is sent after it' : ''}` : 'the outcome of the delivery in flight';
    }
    case 'nothing':
      return `nothing (${w.doing})`;
    default: {
      const unknown: never = w;
      return String(unknown);
    }
  }
}

/** The current details of a consultation workflow, derived from its view and what it waits for. */
export function consultationDetails(view: ConsultationView, waiting: ConsultationWaiting): string {
  const last = view.versions[view.versions.length - 1];
  const recipient = view.pending?.recipientOds ?? last?.recipientOds;
  const lines = [
    `### Consultation \`${view.consultationId}\`: ${view.senderOds} → ${recipient ?? 'practice not known yet'}`,
    `**Status:** ${view.status}${view.registeredHere ? ' (patient registered at the sending organisation: nothing is sent)' : ''}`,
    `**Waiting for:** ${waitingText(waiting, view)}`,
  ];
  if (view.versions.length > 0) {
    lines.push(
      `**Versions:** ${view.versions
        .slice(-5)
        .map((v) => `${v.documentId} v${v.version} ${v.outcome ?? 'in flight'}${v.finalCode ? ` ${v.finalCode}` : ''}${v.voided ? ' (void)' : ''}`)
        .join('; ')}`,
    );
  }
  const escalations = view.escalations.slice(-3);
  if (escalations.length > 0) lines.push(`**Escalations:**\n${escalations.map((e) => `- \`${e.escalationId}\` at ${e.at}${e.code ? ` (${e.code})` : ''}`).join('\n')}`);
  lines.push(`**Operator actions now:**\n${consultationActions(view).join('\n')}`);
  return lines.join('\n\n');
}

export function quarantineStaticSummary(input: Pick<QuarantineInput, 'meshMessageId' | 'mailboxId' | 'reason'>): string {
  return `Quarantined MESH message ${input.meshMessageId} in ${input.mailboxId}: ${input.reason}`;
}

export function quarantineStaticDetails(input: Pick<QuarantineInput, 'quarantineId' | 'meshMessageId' | 'mailboxId' | 'reason' | 'messageType' | 'meshWorkflowId'>): string {
  return [
    `**Inbound MESH ${input.messageType}** \`${input.meshMessageId}\` in mailbox **${input.mailboxId}** (MESH workflow ${input.meshWorkflowId}) matched no delivery it could be given to.`,
    `**Reason:** ${input.reason}. The message is kept encrypted; this entry holds only its claim check, ids and codes.`,
    `Show: \`itk3 quarantine show ${input.quarantineId}\` · \`GET /v1/quarantine/${input.quarantineId}\` · query \`quarantineEntry\`.`,
  ].join('\n\n');
}

/** The current details of a quarantine entry: why, where it stands, and what an operator can do. */
export function quarantineDetails(entry: QuarantineEntry, waiting?: { rematch: number; of: number; until: number }): string {
  const id = entry.quarantineId;
  const code = entry.summary.code ?? entry.summary.statusCode;
  const lines = [
    `### Quarantined MESH message \`${entry.meshMessageId}\` (${entry.mailboxId})`,
    `**Reason:** ${entry.reason}${code ? ` · code ${code}` : ''} · ${entry.detail}`,
    `**Status:** ${entry.status}${entry.raisedAt ? ` · raised to an operator at ${entry.raisedAt}` : ''}${entry.rematchAttempts > 0 ? ` · ${entry.rematchAttempts} rematch attempt(s)` : ''}`,
  ];
  if (entry.candidates.length > 0) lines.push(`**Candidate deliveries:** ${entry.candidates.map((c) => `\`${c}\``).join(', ')}`);
  if (entry.status !== 'OPEN') {
    const r = entry.resolution;
    lines.push(`**Closed:** ${entry.status}${r ? ` by ${r.actor} at ${r.at}${r.targetWorkflowId ? ` → \`${r.targetWorkflowId}\`` : ''}` : ''}. Nothing more to do.`);
    return lines.join('\n\n');
  }
  lines.push(
    waiting
      ? `**Waiting for:** rematch attempt ${waiting.rematch} of ${waiting.of} at **${iso(waiting.until)}** (the delivery may not be visible yet); then it is raised to an operator`
      : '**Waiting for:** an operator',
  );
  const target = entry.candidates[0] ?? '<delivery workflow id>';
  lines.push(
    [
      '**Operator actions now:**',
      `- **Reroute** to the delivery it belongs to: \`itk3 quarantine reroute ${id} --to ${target} --reason "<why>"\` · \`POST /v1/quarantine/${id}/reroute\` \`{"targetWorkflowId": "${target}", "reason": "<why>"}\` · update \`rerouteQuarantine\` \`{"actor": "<you>", "reason": "<why>", "targetWorkflowId": "${target}", "attempt": <n, optional>, "code": "<5 digits, only for unreadable content>"}\``,
      `- **Resolve** without routing (e.g. it answers a message another system sent): \`itk3 quarantine resolve ${id} --reason "<why>"\` · \`POST /v1/quarantine/${id}/resolve\` \`{"reason": "<why>"}\` · update \`resolveQuarantine\` \`{"actor": "<you>", "reason": "<why>"}\``,
    ].join('\n'),
  );
  return lines.join('\n\n');
}

export function inboxPollerStaticSummary(mailboxId: string): string {
  return `MESH inbox poller for ${mailboxId}`;
}

export function inboxPollerStaticDetails(mailboxId: string, pollIntervalMs: number): string {
  return [
    `Polls MESH mailbox **${mailboxId}** every ${Math.round(pollIntervalMs / 1000)} s (at once again while pages are full): routes each message to its delivery or the quarantine, then acknowledges it on MESH.`,
    'Poll now: signal `pollNow` (no input). Status: query `inboxPollerStatus`.',
  ].join('\n\n');
}

/** What the poller's current details are built from (its status query answer, in part). */
export interface InboxPollerDetailsInput {
  mailboxId: string;
  run: number;
  lastPollAt?: string;
  nextPollAt?: string;
  lastHandshakeAt?: string;
  totals: { passes: number; listed: number; routed: number; reports: number; quarantined: number; duplicates: number; failed: number };
  failures: Array<{ meshMessageId: string; errorType: string; count: number; reported: boolean }>;
  passError?: { errorType: string; count: number; since: string; reported: boolean };
}

export function inboxPollerDetails(s: InboxPollerDetailsInput): string {
  const t = s.totals;
  const lines = [
    `### MESH inbox \`${s.mailboxId}\` (run ${s.run})`,
    `**Last pass:** ${s.lastPollAt ?? 'none yet'} · **next poll:** ${s.nextPollAt ?? 'now (a pass is running or due)'} · **last handshake:** ${s.lastHandshakeAt ?? 'none yet'}`,
    `**Totals:** ${t.passes} passes · ${t.listed} listed · ${t.routed} routed · ${t.reports} reports · ${t.quarantined} quarantined · ${t.duplicates} duplicates · ${t.failed} failed`,
  ];
  if (s.passError) {
    lines.push(`**Passes failing:** ${s.passError.errorType} × ${s.passError.count} since ${s.passError.since}${s.passError.reported ? ' (raised to an operator)' : ''}`);
  }
  if (s.failures.length > 0) {
    lines.push(
      `**Messages failing (left in the inbox, retried every pass):**\n${s.failures
        .slice(0, 10)
        .map((f) => `- \`${f.meshMessageId}\` ${f.errorType} × ${f.count}${f.reported ? ' (raised)' : ''}`)
        .join('\n')}${s.failures.length > 10 ? `\n- … and ${s.failures.length - 10} more` : ''}`,
    );
  }
  lines.push('**Operator actions now:** poll at once: signal `pollNow` (no input); details: query `inboxPollerStatus`.');
  return lines.join('\n\n');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
