/**
 * What the Temporal Web UI shows about a delivery (sendDocumentWorkflow): a static summary and details
 * given by whoever starts it, a summary on each timer and activity, and current details (markdown) the
 * workflow keeps up to date from the pure case's view.
 * Pure: no Temporal imports, no zod, safe from workflow and Node code alike.
 *
 * Built from ids, ODS codes, statuses, codes and times only: a delivery's input holds no patient data
 * (the submission travels as a claim check) and these texts must not add any. They are stored in plaintext
 * in history and shown to anyone who can open the UI.
 */
import type { DeliveryStatus, Escalation, EscalationInput, SpecProfile, WaitingFor } from '../contracts';
import { OPERATOR_ACTIONS, type OperatorActionName, type OperatorActionSpec, type OperatorCliOption } from '../contracts/operator-actions';

/** The parts of a delivery's input the static texts name. */
export interface DeliveryIdentity {
  documentId: string;
  version: number;
  senderOds: string;
  recipientOds: string;
  replaces?: { version: number };
}

/** What the current details are built from: the case's view plus the shell's step. */
export interface DeliveryDetailsInput {
  workflowId: string;
  documentId: string;
  version: number;
  senderOds: string;
  recipientOds: string;
  /** The current attempt (0 before the first). */
  attempt: number;
  status: DeliveryStatus;
  waitingFor: WaitingFor;
  waitingUntil?: string;
  escalation?: Escalation;
  allowed: readonly OperatorActionName[];
  allowedWithOverride: readonly OperatorActionName[];
  nextDueAt?: string;
}

const documentRoute = (workflowId: string): string => `/v1/documents/${workflowId}`;

/** One line for the workflow list and the top of the workflow page. */
export function deliveryStaticSummary(d: DeliveryIdentity): string {
  return `Deliver document ${d.documentId} v${d.version}: ${d.senderOds} → ${d.recipientOds}${d.replaces ? ` (replaces v${d.replaces.version})` : ''}`;
}

/**
 * The static details. The spec profile is the worker's setting, not part of the input: the API knows it
 * and names it; a delivery started from workflow code says the worker's setting applies.
 */
export function deliveryStaticDetails(d: DeliveryIdentity & { workflowId: string }, profile?: SpecProfile): string {
  return [
    `**GP Connect Send Document** \`${d.documentId}\` version **${d.version}**: sending organisation **${d.senderOds}** → practice **${d.recipientOds}**${d.replaces ? `, replacing version ${d.replaces.version}` : ''}.`,
    `**Spec profile:** ${profile ? `GP Connect Send Document ${profile}` : "the worker's ITK3_SPEC_PROFILE"}. Sent as ITK3 over MESH; each attempt waits for an infrastructure then a business acknowledgement.`,
    `Status: \`itk3 status ${d.workflowId}\` · \`GET ${documentRoute(d.workflowId)}\` · query \`waiting\`. Timeline: \`itk3 timeline ${d.workflowId}\` · query \`timeline\`.`,
  ].join('\n\n');
}

/**
 * The summary of the one timer the shell waits on: it names what comes due first (the shell waits on a
 * single timer for the earliest of its deadlines, and re-plans after every event).
 */
export function deliveryTimerSummary(d: Pick<DeliveryDetailsInput, 'attempt' | 'status' | 'waitingFor' | 'waitingUntil' | 'escalation' | 'nextDueAt'>): string {
  const e = d.escalation;
  const reminderFirst = e && !e.acknowledged && e.nextReminderAt !== undefined && (d.nextDueAt === undefined || e.nextReminderAt === d.nextDueAt) && d.waitingUntil !== d.nextDueAt;
  if (reminderFirst) return `escalation reminder for ${e.key} (reminder ${e.reminders + 1})`;
  switch (d.waitingFor) {
    case 'INFRASTRUCTURE_ACK':
      return `infrastructure-ack deadline for attempt ${d.attempt}`;
    case 'BUSINESS_ACK':
      return `business-ack deadline for attempt ${d.attempt}`;
    case 'REPLACEMENT_WINDOW':
      return 'replacement window ends';
    case 'OPERATOR':
      if (d.status === 'REJECTED') return 'decision window after the business rejection ends';
      break;
    // No deadline of their own: what the shell waits on then is a reminder (below).
    case 'MESH_SEND':
    case 'CORRECTION':
    case 'REPLACEMENT_OUTCOME':
    case 'NOTHING':
      break;
    default: {
      const unknown: never = d.waitingFor;
      return String(unknown);
    }
  }
  return e ? `escalation reminder for ${e.key} (reminder ${e.reminders + 1})` : `next deadline while waiting for ${d.waitingFor}`;
}

export const buildSummary = (attempt: number): string => `build ITK3 message for attempt ${attempt}`;
export const sendSummary = (attempt: number): string => `send attempt ${attempt} over MESH`;
export const buildAndSendSummary = (attempt: number): string => `build and send attempt ${attempt} over MESH`;
export const trackSummary = (attempt: number): string => `ask MESH tracking about attempt ${attempt}`;

/** "raise escalation NO_INFRASTRUCTURE_ACK:1" (its reminders and resolution likewise). */
export function escalationSummary(e: EscalationInput, key?: string): string {
  const verb = e.kind === 'RAISED' ? 'raise' : e.kind === 'REMINDER' ? 'remind of' : 'resolve';
  return `${verb} escalation ${key ?? e.code ?? e.state}${e.attempt ? ` (attempt ${e.attempt})` : ''}`;
}

const WAITING_TEXT: Record<WaitingFor, (d: DeliveryDetailsInput) => string> = {
  MESH_SEND: (d) => `attempt ${d.attempt} to be built and sent over MESH`,
  INFRASTRUCTURE_ACK: (d) => `the infrastructure acknowledgement of attempt ${d.attempt} from ${d.recipientOds}`,
  BUSINESS_ACK: (d) => `the business acknowledgement of attempt ${d.attempt} from ${d.recipientOds}`,
  CORRECTION: () => 'a corrected submission (`correct`)',
  OPERATOR: () => 'an operator to decide',
  REPLACEMENT_WINDOW: () => 'the replacement window to close (a `replace` may still come)',
  REPLACEMENT_OUTCOME: () => 'the outcome of the replacement delivery',
  NOTHING: () => 'nothing',
};

/** A placeholder for one CLI option's value. */
function cliValue(o: OperatorCliOption, d: DeliveryDetailsInput): string {
  if (o.field === 'escalationId' && d.escalation) return d.escalation.id;
  if (o.value === 'json-file') return '<file.json>';
  if (o.value === 'duration') return '<e.g. 4h>';
  return `"<${o.field === 'note' ? 'what you are doing about it' : 'why'}>"`;
}

/** How to take one action now: CLI line, API route and update with an example input, from the registry. */
function actionLine(spec: OperatorActionSpec, d: DeliveryIdentity & DeliveryDetailsInput, withOverride: boolean): string {
  const wanted = (o: OperatorCliOption): boolean =>
    o.required === true || (withOverride && o.field === 'overrideBusinessRejection') || (o.field === 'escalationId' && d.escalation !== undefined);
  const options = spec.cli.options.filter(wanted);
  // A deadline change names at least one deadline: the first one stands for any of them.
  const firstDeadline = spec.changesDeadlines ? spec.cli.options.find((o) => o.in === 'deadlines') : undefined;
  if (firstDeadline) options.push(firstDeadline);
  const cli = [`itk3 ${spec.cli.command} ${d.workflowId}`, ...options.map((o) => (o.value === 'switch' ? o.flags : `${o.flags.split(' ')[0]} ${cliValue(o, d)}`))].join(' ');
  const reasonText = spec.reasonField === 'note' ? 'what you are doing about it' : 'why';
  // No actor: the codec server writes the signed-in operator into it on the way from the Web UI.
  const body = [`"${spec.reasonField}": "<${reasonText}>"`];
  if (spec.storedSubmission) body.push('"submissionRef": <claim check the API stores>');
  if (withOverride) body.push('"overrideBusinessRejection": true');
  if (spec.name === 'acknowledgeEscalation' && d.escalation) body.push(`"escalationId": "${d.escalation.id}"`);
  if (firstDeadline) body.push(`"deadlines": {"${firstDeadline.field}": <ms>}`);
  const update = `update \`${spec.name}\` \`{${body.join(', ')}}\`${spec.storedSubmission ? ' (through the CLI or API only: they store the submission encrypted)' : ''}`;
  return `- **${spec.summary}**${withOverride ? ' (overriding the business rejection)' : ''}: \`${cli}\` · \`POST ${documentRoute(d.workflowId)}/actions/${spec.route}\` · ${update}`;
}

/** The current details of a delivery: status, what it waits for and until when, the open escalation, and the actions that fit now. */
export function deliveryDetails(d: DeliveryDetailsInput): string {
  const lines = [
    `### Document \`${d.documentId}\` v${d.version}: ${d.senderOds} → ${d.recipientOds}`,
    `**Status:** ${d.status}${d.attempt > 0 ? ` · attempt ${d.attempt}` : ''}`,
    `**Waiting for:** ${WAITING_TEXT[d.waitingFor](d)}${d.waitingUntil ? `, until **${d.waitingUntil}**` : ''}${d.nextDueAt && d.nextDueAt !== d.waitingUntil ? ` · next acts on its own at **${d.nextDueAt}**` : ''}`,
  ];
  const e = d.escalation;
  if (e) {
    const ack = e.acknowledged ? `acknowledged by ${e.acknowledged.actor} at ${e.acknowledged.at}` : `not acknowledged${e.nextReminderAt ? `, next reminder at ${e.nextReminderAt}` : ''}`;
    lines.push(`**Open escalation** \`${e.id}\` (${e.key}${e.code ? `, code ${e.code}` : ''}) raised at ${e.raisedAt}, ${ack}.\n\n**Reason:** ${e.reason}`);
  }
  const actions = [
    ...d.allowed.map((name) => actionLine(OPERATOR_ACTIONS[name] as OperatorActionSpec, d, false)),
    ...d.allowedWithOverride.map((name) => actionLine(OPERATOR_ACTIONS[name] as OperatorActionSpec, d, true)),
  ];
  lines.push(`**Operator actions now:**\n${actions.length > 0 ? actions.join('\n') : '- none: the delivery has ended'}`);
  return lines.join('\n\n');
}
