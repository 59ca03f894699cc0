/**
 * The rules of one quarantine entry, with no Temporal in them: when an operator action is refused, what
 * a reroute, a resolve or an automatic rematch closes the entry as, and what the operator is told. The
 * workflow (workflows/quarantine.ts) is the shell: it runs the rematch timers and activities and asks
 * this case what each result means. Time comes in as an argument.
 */
import type { EscalationInput } from '../contracts/activities';
import type {
  QuarantineActionResult,
  QuarantineEntry,
  QuarantineInput,
  QuarantineStatus,
  RerouteQuarantineInput,
  ResolveQuarantineInput,
  RouteQuarantinedResult,
} from '../contracts/inbound';
import { textProblem } from './input-text';

const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const CODE = /^[123]\d{4}$/;

/** The operator actions on an entry, by update name. */
export type QuarantineAction = { update: 'rerouteQuarantine'; input: RerouteQuarantineInput } | { update: 'resolveQuarantine'; input: ResolveQuarantineInput };

/** Search attributes to upsert when the entry closes. */
export interface QuarantineStatusEffect {
  status: Exclude<QuarantineStatus, 'OPEN'>;
}

export class QuarantineCase {
  readonly entry: QuarantineEntry;
  /** An activity (operator reroute or automatic rematch) is delivering it right now. */
  busy = false;

  constructor(input: QuarantineInput) {
    const { rematchDelaysMs: _delays, ...fields } = input;
    this.entry = { ...fields, status: 'OPEN', rematchAttempts: 0 };
  }

  get open(): boolean {
    return this.entry.status === 'OPEN';
  }

  /**
   * Why an operator action is refused now, as the message the caller sees; undefined when it may go ahead.
   * The API validates the same inputs with zod first; this is the workflow's own guard, since anyone who can
   * reach the namespace can send an update.
   */
  refusal(action: QuarantineAction): string | undefined {
    if (!this.open) return `quarantine entry is ${this.entry.status}, not OPEN`;
    if (this.busy) return 'quarantine entry is being delivered right now; try again shortly';
    const req = action.input as Partial<RerouteQuarantineInput> | undefined;
    return (
      textProblem(req?.actor, 'actor', 200) ??
      textProblem(req?.reason, 'reason', 2000) ??
      (action.update === 'rerouteQuarantine' ? rerouteRefusal(action.input) : undefined)
    );
  }

  result(): QuarantineActionResult {
    const r = this.entry.resolution;
    return {
      quarantineId: this.entry.quarantineId,
      status: this.entry.status,
      ...(r?.targetWorkflowId ? { targetWorkflowId: r.targetWorkflowId } : {}),
      ...(r?.signal ? { signal: r.signal } : {}),
    };
  }

  /** An operator's reroute went through: REROUTED, with where it went and what it answers. */
  rerouted(req: RerouteQuarantineInput, routed: RouteQuarantinedResult, now: number): { effect: QuarantineStatusEffect; result: QuarantineActionResult } {
    const effect = this.close('REROUTED', { actor: req.actor, reason: req.reason, at: iso(now), ...routedTo(routed) });
    return { effect, result: { ...this.result(), ...(routed.respondsTo ? { respondsTo: routed.respondsTo } : {}), ...(routed.code ? { code: routed.code } : {}) } };
  }

  /** An operator closed it without routing. */
  resolved(req: ResolveQuarantineInput, now: number): QuarantineStatusEffect {
    return this.close('RESOLVED', { actor: req.actor, reason: req.reason, at: iso(now) });
  }

  /** An automatic correlation attempt starts: counted, and operator actions wait until it is done. */
  beginRematch(): void {
    this.busy = true;
    this.entry.rematchAttempts += 1;
  }

  /** What an automatic correlation attempt found: its delivery (AUTO_ROUTED), more candidates, or nothing. */
  rematched(routed: RouteQuarantinedResult, now: number): QuarantineStatusEffect | undefined {
    if (routed.routed) {
      return this.close('AUTO_ROUTED', { actor: 'inbound-router', reason: 'matched its delivery on a later correlation attempt', at: iso(now), ...routedTo(routed) });
    }
    if (routed.candidates?.length) this.entry.candidates = [...new Set([...this.entry.candidates, ...routed.candidates])];
    return undefined;
  }

  /** The operator is told once, with the reason code and the code read from the message (never its content). */
  raise(now: number): EscalationInput {
    const e = this.entry;
    e.raisedAt = iso(now);
    const code = e.summary.code ?? e.summary.statusCode;
    return { workflowId: e.quarantineId, documentId: '', state: 'QUARANTINED', reason: `inbound MESH message quarantined (${e.reason}): ${e.detail}`, ...(code ? { code } : {}), kind: 'RAISED' };
  }

  /** Closing an entry that was raised resolves the escalation; one never raised needs no word. */
  closingNotice(): EscalationInput | undefined {
    const e = this.entry;
    if (!e.raisedAt) return undefined;
    const to = e.resolution?.targetWorkflowId;
    return { workflowId: e.quarantineId, documentId: '', state: e.status, reason: `quarantined inbound MESH message ${e.status.toLowerCase()}${to ? ` to ${to}` : ''}`, kind: 'RESOLVED' };
  }

  private close(status: QuarantineStatusEffect['status'], resolution: NonNullable<QuarantineEntry['resolution']>): QuarantineStatusEffect {
    this.entry.status = status;
    this.entry.resolution = resolution;
    return { status };
  }
}

function rerouteRefusal(req: RerouteQuarantineInput): string | undefined {
  if (typeof req.targetWorkflowId !== 'string' || !WORKFLOW_ID.test(req.targetWorkflowId)) return 'targetWorkflowId is not a workflow id';
  if (req.attempt !== undefined && (!Number.isInteger(req.attempt) || req.attempt < 1)) return 'attempt must be a positive integer';
  if (req.code !== undefined && (typeof req.code !== 'string' || !CODE.test(req.code))) return 'code must be five digits starting 1, 2 or 3';
  return undefined;
}

function routedTo(routed: RouteQuarantinedResult): { targetWorkflowId?: string; signal?: 'itk3Response' | 'meshReport' } {
  return { ...(routed.targetWorkflowId ? { targetWorkflowId: routed.targetWorkflowId } : {}), ...(routed.signal ? { signal: routed.signal } : {}) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
