/**
 * The delivery state machine as data: every status change the delivery workflow can make is a row of
 * `TRANSITIONS`, and the workflow moves only through `nextStatus` (an unknown move is a bug: it fails
 * the workflow task, so the workflow waits for a fixed deployment instead of going astray).
 * docs/state-machine.md is generated from this table and a test keeps the two equal.
 *
 * Pure and workflow-safe: types only from contracts (and the zod-free refusal catalogue of
 * contracts/errors.ts), no Temporal APIs, no clock.
 */
import type { DeliveryState, DeliveryStatus, SenderAction } from '../contracts';
import { operatorRefusal, type OperatorRefusalReason } from '../contracts/errors';
import type { OperatorActionName } from '../contracts/operator-actions';

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

/** The event an ITK3 Response's classified action stands for (contracts/itk3-response.ts). */
export function eventForAction(action: SenderAction): ResponseEvent {
  switch (action) {
    case 'DELIVERED':
      return 'BUS_ACK_OK';
    case 'AWAIT_BUSINESS_ACK':
      return 'INF_ACK_OK';
    case 'ESCALATE_BUSINESS_REJECTION':
      return 'BUS_ACK_NEGATIVE';
    case 'FIX_AND_RESEND':
    case 'SHRINK_PAYLOAD':
    case 'INVESTIGATE_UNREADABLE':
      return 'NEEDS_CORRECTION';
    case 'TREAT_AS_DUPLICATE':
      return 'DUPLICATE';
    case 'ESCALATE_ROUTING':
      return 'ROUTING_PROBLEM';
    case 'VOID_ORIGINAL_AND_REPLACEMENT':
      return 'REPLACEMENT_FAILED';
  }
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

export type OperatorAction = OperatorActionName;

/**
 * Why an operator action is not allowed in this state, or undefined when it is: a code from the refusal
 * catalogue (contracts/errors.ts) and the reason, written for the person who asked. The update validators
 * reject with exactly this.
 */
export function refusal(
  action: OperatorAction,
  state: DeliveryState,
  opts: { override?: boolean; escalationId?: string } = {},
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
      if (action === 'resend' && state.rejectedRoutes.includes(state.recipientOds) && !opts.override) {
        return operatorRefusal('BUSINESS_REJECTION_NOT_OVERRIDDEN', { recipientOds: state.recipientOds });
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
