/**
 * The delivery state machine as data: every status change the delivery workflow can make is a row of
 * `TRANSITIONS`, and the workflow moves only through `nextStatus` (an unknown move is a bug: it fails
 * the workflow task, so the workflow waits for a fixed deployment instead of going astray). How each
 * class of ITK3 Response changes a delivery is a row of `RESPONSE_RULES`. docs/state-machine.md is
 * generated from both tables and a test keeps them equal.
 *
 * Pure and workflow-safe: types only from contracts (and the zod-free refusal catalogue of
 * contracts/errors.ts), no Temporal APIs, no clock.
 */
import type { Attempt, DeliveryDeadlines, DeliveryState, DeliveryStatus, Itk3ResponseReceived, SenderAction, WaitingFor } from '../contracts';
import { operatorRefusal, type OperatorRefusalReason } from '../contracts/errors';
import { OPERATOR_ACTION_NAMES, type OperatorActionName } from '../contracts/operator-actions';

export type DeliveryEvent =
  /** Workflow start: the first attempt is built and sent. */
  | 'START'
  /** The attempt's MESH message was accepted by MESH; the acknowledgement deadlines start. */
  | 'SENT'
  /** Building or sending failed for good (non-retryable failure type). */
  | 'SEND_FAILED'
  /** 20013: technical success; now the business ack. */
  | 'INF_ACK_OK'
  /** 30001/30004 and other positive business codes (before the infrastructure ack implies technical success). */
  | 'BUS_ACK_OK'
  /** 30002/30003 and other negative business codes. */
  | 'BUS_ACK_NEGATIVE'
  /** Sender defect (10001-10010, 20004-20006, 20009), 10009 unreadable, 20015 too large. */
  | 'NEEDS_CORRECTION'
  /** 20007/20008: the receiver already has it. */
  | 'DUPLICATE'
  /** 20001-20003, 20010-20012. */
  | 'ROUTING_PROBLEM'
  /** 20014: original and replacement are void. */
  | 'REPLACEMENT_FAILED'
  /** MESH non-delivery or routing error (EPL-15x) for the current attempt. */
  | 'MESH_UNDELIVERABLE'
  /** No acknowledgement by the deadline: escalate and keep waiting (GPCM-SD-095, 1.3.1). */
  | 'ACK_DEADLINE'
  /**
   * An acknowledgement contradicting an earlier one of the same level for the current attempt (30002 after
   * 30001, 20009 after 20013, or reordered): a person decides (GPCM-SD-094, 1.3.1).
   */
  | 'ACK_CONFLICT'
  | 'CORRECT'
  | 'RESEND'
  | 'ABANDON'
  | 'REPLACE'
  /** The replacement of this (delivered) document was voided by the receiver (20014). */
  | 'REPLACEMENT_VOIDED'
  /** The replacement reached its own outcome (delivered, rejected or abandoned). */
  | 'REPLACEMENT_SETTLED'
  /** The replacement window (DELIVERED) or decision window (REJECTED) is over. */
  | 'WINDOW_ENDED'
  /** ABANDONED and VOIDED end the workflow at once. */
  | 'END';

export type StateNode = DeliveryStatus | '[*]';

/** The events an ITK3 Response can stand for. */
export type ResponseEvent = Extract<
  DeliveryEvent,
  'INF_ACK_OK' | 'BUS_ACK_OK' | 'BUS_ACK_NEGATIVE' | 'NEEDS_CORRECTION' | 'DUPLICATE' | 'ROUTING_PROBLEM' | 'REPLACEMENT_FAILED'
>;

export interface Transition {
  from: StateNode;
  event: DeliveryEvent;
  to: StateNode;
}

const AWAITING_ACK = ['AWAITING_INFRASTRUCTURE_ACK', 'AWAITING_BUSINESS_ACK'] as const;
/** Where an operator may send a new attempt (correct or resend) or abandon. */
export const OPERATOR_SEND_STATES = ['AWAITING_CORRECTION', 'AWAITING_OPERATOR', 'REJECTED', ...AWAITING_ACK] as const;

export const TRANSITIONS: readonly Transition[] = [
  { from: '[*]', event: 'START', to: 'SENDING' },
  { from: 'SENDING', event: 'SENT', to: 'AWAITING_INFRASTRUCTURE_ACK' },
  { from: 'SENDING', event: 'SEND_FAILED', to: 'AWAITING_OPERATOR' },

  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'INF_ACK_OK', to: 'AWAITING_BUSINESS_ACK' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'BUS_ACK_OK', to: 'DELIVERED' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'BUS_ACK_NEGATIVE', to: 'REJECTED' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'NEEDS_CORRECTION', to: 'AWAITING_CORRECTION' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'DUPLICATE', to: 'AWAITING_OPERATOR' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'ROUTING_PROBLEM', to: 'AWAITING_OPERATOR' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'REPLACEMENT_FAILED', to: 'VOIDED' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'MESH_UNDELIVERABLE', to: 'AWAITING_OPERATOR' },
  { from: 'AWAITING_INFRASTRUCTURE_ACK', event: 'ACK_DEADLINE', to: 'AWAITING_INFRASTRUCTURE_ACK' },

  { from: 'AWAITING_BUSINESS_ACK', event: 'BUS_ACK_OK', to: 'DELIVERED' },
  { from: 'AWAITING_BUSINESS_ACK', event: 'BUS_ACK_NEGATIVE', to: 'REJECTED' },
  { from: 'AWAITING_BUSINESS_ACK', event: 'ACK_DEADLINE', to: 'AWAITING_BUSINESS_ACK' },
  // Conflicting acknowledgements: neither delivered nor waiting any more, and no window closes it unseen.
  { from: 'AWAITING_BUSINESS_ACK', event: 'ACK_CONFLICT', to: 'AWAITING_OPERATOR' },
  { from: 'DELIVERED', event: 'ACK_CONFLICT', to: 'AWAITING_OPERATOR' },
  { from: 'REJECTED', event: 'ACK_CONFLICT', to: 'AWAITING_OPERATOR' },

  ...OPERATOR_SEND_STATES.flatMap((from): Transition[] => [
    { from, event: 'CORRECT', to: 'SENDING' },
    { from, event: 'RESEND', to: 'SENDING' },
    { from, event: 'ABANDON', to: 'ABANDONED' },
  ]),

  { from: 'DELIVERED', event: 'REPLACE', to: 'DELIVERED' },
  { from: 'DELIVERED', event: 'REPLACEMENT_VOIDED', to: 'VOIDED' },
  { from: 'DELIVERED', event: 'REPLACEMENT_SETTLED', to: '[*]' },
  { from: 'DELIVERED', event: 'WINDOW_ENDED', to: '[*]' },
  { from: 'REJECTED', event: 'WINDOW_ENDED', to: '[*]' },
  { from: 'ABANDONED', event: 'END', to: '[*]' },
  { from: 'VOIDED', event: 'END', to: '[*]' },
];

export function nextStatus(from: StateNode, event: DeliveryEvent): StateNode | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.event === event)?.to;
}

export function canMove(from: StateNode, event: DeliveryEvent): boolean {
  return nextStatus(from, event) !== undefined;
}

/** What a response rule reads when it applies to the current attempt. */
export interface ResponseRuleContext {
  response: Itk3ResponseReceived;
  attempt: Attempt;
  state: DeliveryState;
  /** The attempt's acknowledgement deadline had already been escalated: the answer is late. */
  late: boolean;
}

/**
 * How one class of ITK3 Response (its classified `SenderAction`, contracts/itk3-response.ts) changes a
 * delivery when it answers the current attempt. The delivery case applies the row as it stands, so a new
 * class of code is one new row here (the `Record` makes a missing row a type error), not a new branch.
 */
export interface ResponseRule {
  /** The transition it asks for (`TRANSITIONS`); where the table has no move, the response is recorded only. */
  event: ResponseEvent;
  /**
   * A business answer before the infrastructure one still proves the message arrived: mark technical
   * success implied on the attempt, with a timeline note (`noted`) or without (`silent`).
   */
  impliesTechnicalSuccess?: 'noted' | 'silent';
  /** The response code becomes the delivery's outcome code. */
  decidesOutcome: boolean;
  /** A business rejection of this route: a later re-send there needs `overrideBusinessRejection`. */
  rejectsRoute?: boolean;
  /** Why the status moved, for the timeline and a resolved escalation. */
  why: (c: ResponseRuleContext) => string;
  waitFor: WaitingFor;
  /** Until when it waits: a deadline measured from the attempt's MESH send time or from now. */
  until?: { from: 'SEND' | 'NOW'; deadline: keyof DeliveryDeadlines };
  /** The escalation it raises: key `<key>:<attempt>` (one per case and attempt), and the words a person reads. */
  escalation?: { key: string; reason: (c: ResponseRuleContext) => string };
}

const code = (c: ResponseRuleContext): string => c.response.code;
const correctionRule = (reason: (c: ResponseRuleContext) => string): ResponseRule => ({
  event: 'NEEDS_CORRECTION',
  decidesOutcome: true,
  why: (c) => `negative infrastructure acknowledgement ${code(c)}`,
  waitFor: 'CORRECTION',
  escalation: { key: 'CORRECTION', reason },
});

export const RESPONSE_RULES: Readonly<Record<SenderAction, ResponseRule>> = {
  AWAIT_BUSINESS_ACK: {
    event: 'INF_ACK_OK',
    decidesOutcome: false,
    why: (c) => (c.late ? `late infrastructure acknowledgement ${code(c)} reconciled` : `infrastructure acknowledgement ${code(c)}`),
    waitFor: 'BUSINESS_ACK',
    until: { from: 'SEND', deadline: 'businessAckMs' },
  },
  DELIVERED: {
    event: 'BUS_ACK_OK',
    impliesTechnicalSuccess: 'noted',
    decidesOutcome: true,
    why: (c) => (c.late ? `late business acknowledgement ${code(c)} reconciled: delivered` : `business acknowledgement ${code(c)}: delivered`),
    waitFor: 'REPLACEMENT_WINDOW',
    until: { from: 'NOW', deadline: 'replacementWindowMs' },
  },
  ESCALATE_BUSINESS_REJECTION: {
    event: 'BUS_ACK_NEGATIVE',
    impliesTechnicalSuccess: 'silent',
    decidesOutcome: true,
    rejectsRoute: true,
    why: (c) => `negative business acknowledgement ${code(c)}`,
    waitFor: 'OPERATOR',
    until: { from: 'NOW', deadline: 'decisionWindowMs' },
    escalation: {
      key: 'BUSINESS_REJECTION',
      reason: (c) =>
        `negative business acknowledgement ${code(c)} (${c.response.display}): the practice did not accept the document; recheck the patient's registered practice (GPCM-SD-094, 1.3.1). A re-send to the same route is refused unless overridden`,
    },
  },
  FIX_AND_RESEND: correctionRule((c) => `sender defect (${code(c)} ${c.response.display}): correct the submission or the configuration and send a correction`),
  SHRINK_PAYLOAD: correctionRule(
    (c) =>
      `message too large (${code(c)}): attempt ${c.attempt.attempt} was ${c.attempt.sizeBytes ?? 'an unknown number of'} bytes; receivers may refuse above 5 MB. Reduce the attachments, list the unsent ones in the PDF, and send a correction`,
  ),
  INVESTIGATE_UNREADABLE: correctionRule((c) => `the receiver could not read attempt ${c.attempt.attempt} (${code(c)}): investigate, then send a correction or resend`),
  TREAT_AS_DUPLICATE: {
    event: 'DUPLICATE',
    decidesOutcome: true,
    why: (c) => `duplicate reported by the receiver ${code(c)}`,
    waitFor: 'OPERATOR',
    escalation: {
      key: 'DUPLICATE',
      reason: (c) => {
        // Naming an earlier attempt the practice accepted tells the person where to look first.
        const accepted = c.state.attempts.find((a) => a.attempt !== c.attempt.attempt && a.businessAck?.polarity === 'positive');
        return (
          `the receiver reports a duplicate (${code(c)} ${c.response.display}): no re-send made; check whether an earlier message was processed and how ids are generated` +
          (accepted ? ` (attempt ${accepted.attempt} has a positive business acknowledgement ${accepted.businessAck!.code})` : '')
        );
      },
    },
  },
  ESCALATE_ROUTING: {
    event: 'ROUTING_PROBLEM',
    decidesOutcome: true,
    why: (c) => `routing or recipient problem ${code(c)}`,
    waitFor: 'OPERATOR',
    escalation: { key: 'ROUTING', reason: (c) => `routing or recipient problem (${code(c)} ${c.response.display}): check the recipient and the routing configuration` },
  },
  VOID_ORIGINAL_AND_REPLACEMENT: {
    event: 'REPLACEMENT_FAILED',
    decidesOutcome: true,
    why: (c) => `the receiver could not process the replacement ${code(c)}`,
    waitFor: 'NOTHING',
    escalation: {
      key: 'VOIDED',
      reason: (c) =>
        `the receiver could not process the replacement (${code(c)}): version ${c.state.version}` +
        (c.state.replaces ? ` and the version it replaces (${c.state.replaces.version})` : '') +
        ' are marked void (GPCM-SD-128, 1.3.1); send a new document if it is still needed',
    },
  },
};

/** The event an ITK3 Response's classified action stands for (contracts/itk3-response.ts). */
export function eventForAction(action: SenderAction): ResponseEvent {
  return RESPONSE_RULES[action].event;
}

/**
 * The response-rule table as Markdown (docs/state-machine.md holds exactly this). `codes` lists the
 * response codes of each class; the caller reads them from the ITK3 code table, which this workflow-safe
 * module does not import.
 */
export function responseRuleTable(codes: Readonly<Record<SenderAction, readonly string[]>>): string {
  const moves = (event: DeliveryEvent): string =>
    (['AWAITING_INFRASTRUCTURE_ACK', 'AWAITING_BUSINESS_ACK'] as const).map((from) => `${from} → ${nextStatus(from, event) ?? '(recorded only)'}`).join('<br>');
  const lines = [
    '| sender action | codes | event | moves | waits for | until | escalation | effects |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [action, rule] of Object.entries(RESPONSE_RULES) as Array<[SenderAction, ResponseRule]>) {
    const effects = [
      rule.decidesOutcome ? 'outcome code' : '',
      rule.rejectsRoute ? 'route rejected' : '',
      rule.impliesTechnicalSuccess ? 'technical success implied' : '',
    ].filter(Boolean);
    const until = rule.until ? `${rule.until.from === 'SEND' ? 'MESH send time' : 'now'} + ${rule.until.deadline}` : '–';
    lines.push(
      `| ${action} | ${codes[action].join(', ') || 'other codes of its class'} | ${rule.event} | ${moves(rule.event)} | ${rule.waitFor} | ${until} | ${rule.escalation ? `\`${rule.escalation.key}:<attempt>\`` : '–'} | ${effects.join(', ') || '–'} |`,
    );
  }
  return lines.join('\n');
}

/** The Mermaid state diagram of `TRANSITIONS` (docs/state-machine.md holds exactly this). */
export function stateDiagram(): string {
  const lines = ['stateDiagram-v2'];
  for (const t of TRANSITIONS) lines.push(`    ${t.from} --> ${t.to} : ${t.event}`);
  return lines.join('\n');
}

/** MESH outbox tracking statuses that mean the message will never be delivered. */
const MESH_UNDELIVERABLE_STATUSES = ['undeliverable', 'expired', 'error'];

/** Does this MESH tracking status mean MESH has given up on the message? (accepted, acknowledged, uploading: no) */
export function meshTrackingSaysUndeliverable(status: string): boolean {
  return MESH_UNDELIVERABLE_STATUSES.includes(status.toLowerCase());
}

/** Escalation keys of the acknowledgement deadlines of one attempt (one escalation per case and state). */
export const deadlineKey = (status: 'AWAITING_INFRASTRUCTURE_ACK' | 'AWAITING_BUSINESS_ACK', attempt: number): string =>
  `${status === 'AWAITING_INFRASTRUCTURE_ACK' ? 'NO_INFRASTRUCTURE_ACK' : 'NO_BUSINESS_ACK'}:${attempt}`;

/** The delivery operator actions, as the registry names them (contracts/operator-actions.ts). */
export type OperatorAction = OperatorActionName;
export { OPERATOR_ACTION_NAMES };

export interface RefusalOptions {
  /** `overrideBusinessRejection` of a resend or correction. */
  override?: boolean;
  /** The escalation an acknowledgement names (optional guard). */
  escalationId?: string;
  /** Where a correction would go (from its checked submission). */
  recipientOds?: string;
}

/**
 * Why an operator action is not allowed in this state, or undefined when it is: a code from the refusal
 * catalogue (contracts/errors.ts) and the reason, written for the person who asked. The update validators
 * reject with exactly this.
 */
export function refusal(
  action: OperatorAction,
  state: DeliveryState,
  opts: RefusalOptions = {},
): OperatorRefusalReason | undefined {
  const s = state.status;
  const ended = s === 'ABANDONED' || s === 'VOIDED';
  if (ended) return operatorRefusal('DELIVERY_ENDED', { status: s });
  switch (action) {
    case 'correct':
    case 'resend': {
      if (s === 'SENDING') return operatorRefusal('SEND_IN_PROGRESS');
      if (s === 'DELIVERED') return operatorRefusal('ALREADY_DELIVERED');
      if (s === 'AWAITING_INFRASTRUCTURE_ACK' || s === 'AWAITING_BUSINESS_ACK') {
        const overdue = state.escalations.some((e) => e.key === deadlineKey(s, state.currentAttempt));
        if (!overdue) {
          return operatorRefusal('ACK_DEADLINE_NOT_PASSED', { attempt: state.currentAttempt, ...(state.waitingUntil ? { waitingUntil: state.waitingUntil } : {}) });
        }
      }
      // A resend goes to the current route; a correction to the route its stored submission names, known
      // only once the content has been checked (the validator cannot see it, so it passes it as undefined).
      const route = action === 'resend' ? state.recipientOds : opts.recipientOds;
      if (route !== undefined && state.rejectedRoutes.includes(route) && !opts.override) {
        return operatorRefusal('BUSINESS_REJECTION_NOT_OVERRIDDEN', { recipientOds: route });
      }
      return undefined;
    }
    case 'replace':
      if (s !== 'DELIVERED') return operatorRefusal('NOT_DELIVERED', { status: s });
      if (state.replacement) return operatorRefusal('REPLACEMENT_UNDER_WAY', { workflowId: state.replacement.workflowId });
      if (state.waitingFor !== 'REPLACEMENT_WINDOW') return operatorRefusal('REPLACEMENT_WINDOW_CLOSED');
      return undefined;
    case 'abandon':
      if (s === 'SENDING') return operatorRefusal('SEND_IN_PROGRESS');
      if (s === 'DELIVERED') return operatorRefusal('DELIVERED_CANNOT_BE_ABANDONED');
      return undefined;
    case 'acknowledgeEscalation': {
      const open = state.escalations.find((e) => !e.resolvedAt);
      if (!open) return operatorRefusal('NO_OPEN_ESCALATION');
      if (opts.escalationId && opts.escalationId !== open.id) return operatorRefusal('ESCALATION_NOT_OPEN', { escalationId: opts.escalationId, openEscalationId: open.id });
      if (open.acknowledged) return operatorRefusal('ESCALATION_ALREADY_ACKNOWLEDGED', { acknowledgedBy: open.acknowledged.actor });
      return undefined;
    }
    case 'changeDeadlines':
      return undefined;
  }
}
