/**
 * The operator actions on a delivery, each described once: its wire name, what it does, when the
 * workflow allows it, its API route segment, its CLI command and options, and the shape of its input
 * beyond the actor. Every surface is derived from this table: the workflow's update definitions
 * (workflows/definitions.ts), the HTTP routes and so `/openapi.json` (client/api/api.ts), the HTTP client's
 * methods (client/lib/http-client.ts) and the `itk3` commands (client/cli/cli-commands.ts).
 *
 * Plain data with no zod, so workflow code may import it: the schemas that check each action's input
 * sit on the Node side and are joined to this table by name (`OPERATOR_INPUT_SCHEMAS` in
 * contracts/operator.ts, `OPERATOR_ACTION_BODIES` in client/lib/api-schemas.ts), each declared exhaustive
 * over `OperatorActionName`, so an action added here without its schemas does not compile.
 */

/**
 * The wire names: the names of the delivery workflow's updates. They are stored in every workflow
 * history that used them, so one is never renamed; a new action is a new name.
 */
export const OPERATOR_ACTION_NAMES = ['correct', 'resend', 'replace', 'abandon', 'acknowledgeEscalation', 'changeDeadlines'] as const;
export type OperatorActionName = (typeof OPERATOR_ACTION_NAMES)[number];

/** One option of an action's CLI command, and where its value goes in the request body. */
export interface OperatorCliOption {
  /** Commander flags, e.g. `--reason <text>`. */
  readonly flags: string;
  readonly help: string;
  readonly required?: boolean;
  /** The body field it fills; inside `deadlines` when `in` says so. */
  readonly field: string;
  readonly in?: 'deadlines';
  /**
   * text: the value as given; switch: `true` when present; json-file: the JSON read from that file;
   * duration: the value as given (the API reads `30m`, `4h`, `2d` or milliseconds); integer: a whole
   * number; ignored: accepted so older scripts keep working, never sent.
   */
  readonly value: 'text' | 'switch' | 'json-file' | 'duration' | 'integer' | 'ignored';
}

export interface OperatorActionSpec<N extends OperatorActionName = OperatorActionName> {
  readonly name: N;
  /** One line: the update's meaning, the API operation's summary and the CLI command's help. */
  readonly summary: string;
  /** When the workflow accepts it; otherwise the update is refused with a code from the refusal catalogue. */
  readonly allowedWhen: string;
  /** Path segment under `/v1/documents/{id}/actions/`. */
  readonly route: string;
  readonly cli: { readonly command: string; readonly options: readonly OperatorCliOption[] };
  /** The field that says why (kept in the timeline). */
  readonly reasonField: 'reason' | 'note';
  /**
   * The action carries a new submission: the API validates and stores it, and the update carries its
   * claim check as `submissionRef`, which the workflow re-reads and checks for this purpose.
   */
  readonly storedSubmission?: 'CORRECTION' | 'REPLACEMENT';
  /** The input may set `overrideBusinessRejection`. */
  readonly overridesBusinessRejection: boolean;
  /** The input carries `deadlines`, checked against the delivery's deadline bounds. */
  readonly changesDeadlines: boolean;
}

const reason = (help = 'why (kept in the timeline; no patient data)'): OperatorCliOption => ({ flags: '--reason <text>', help, required: true, field: 'reason', value: 'text' });
const override: OperatorCliOption = {
  flags: '--override-business-rejection',
  help: 'send to a route that gave a business rejection',
  field: 'overrideBusinessRejection',
  value: 'switch',
};
const deadline = (flag: string, field: string, help: string): OperatorCliOption => ({ flags: `--${flag} <duration>`, help, field, in: 'deadlines', value: 'duration' });

export const OPERATOR_ACTIONS: { readonly [N in OperatorActionName]: OperatorActionSpec<N> } = {
  correct: {
    name: 'correct',
    summary: 'Send a corrected submission as a new ITK3 message',
    allowedWhen:
      'Allowed when the delivery awaits a correction or an operator, after a business rejection (to another route, or with overrideBusinessRejection), or once an acknowledgement deadline has passed.',
    route: 'correct',
    cli: {
      command: 'correct',
      options: [
        { flags: '--submission <file>', help: 'the corrected submission JSON (same document id and version)', required: true, field: 'submission', value: 'json-file' },
        reason(),
        override,
      ],
    },
    reasonField: 'reason',
    storedSubmission: 'CORRECTION',
    overridesBusinessRejection: true,
    changesDeadlines: false,
  },
  resend: {
    name: 'resend',
    summary: 'Send the current submission again as a new ITK3 message',
    allowedWhen:
      'Allowed when a correction would be; to the route that gave a business rejection only with overrideBusinessRejection.',
    route: 'resend',
    cli: { command: 'resend', options: [reason(), override] },
    reasonField: 'reason',
    overridesBusinessRejection: true,
    changesDeadlines: false,
  },
  replace: {
    name: 'replace',
    summary: 'Replace a DELIVERED document with version + 1',
    allowedWhen:
      'Allowed while a DELIVERED document is inside its replacement window and no replacement is under way; the replacement is delivered by its own workflow.',
    route: 'replace',
    cli: {
      command: 'replace',
      options: [{ flags: '--submission <file>', help: 'the replacement submission JSON (version + 1, replaces naming this version)', required: true, field: 'submission', value: 'json-file' }, reason()],
    },
    reasonField: 'reason',
    storedSubmission: 'REPLACEMENT',
    overridesBusinessRejection: false,
    changesDeadlines: false,
  },
  abandon: {
    name: 'abandon',
    summary: 'Stop trying; the delivery ends ABANDONED',
    allowedWhen: 'Not allowed while a message is being sent, nor once DELIVERED.',
    route: 'abandon',
    cli: { command: 'abandon', options: [reason()] },
    reasonField: 'reason',
    overridesBusinessRejection: false,
    changesDeadlines: false,
  },
  acknowledgeEscalation: {
    name: 'acknowledgeEscalation',
    summary: 'Acknowledge the open escalation; reminders stop',
    allowedWhen:
      'Allowed while an escalation is open and not yet acknowledged (and, with escalationId, only if that is the open one); the case stays escalated until resolved.',
    route: 'acknowledge-escalation',
    cli: {
      command: 'ack',
      options: [
        { flags: '--note <text>', help: 'what you are doing about it', required: true, field: 'note', value: 'text' },
        { flags: '--escalation <id>', help: 'only if this is still the open escalation', field: 'escalationId', value: 'text' },
      ],
    },
    reasonField: 'note',
    overridesBusinessRejection: false,
    changesDeadlines: false,
  },
  changeDeadlines: {
    name: 'changeDeadlines',
    summary: "Change this delivery's deadlines",
    allowedWhen:
      'Allowed until the delivery ends. Acknowledgement deadlines stay measured from the MESH send time of the current attempt; one already passed escalates at once.',
    route: 'change-deadlines',
    cli: {
      command: 'deadlines',
      options: [
        reason(),
        deadline('infrastructure-ack', 'infrastructureAckMs', 'infrastructure acknowledgement deadline, from the MESH send time (e.g. 30m, 4h)'),
        deadline('business-ack', 'businessAckMs', 'business acknowledgement deadline, from the MESH send time (e.g. 2d)'),
        deadline('reminder-interval', 'reminderIntervalMs', 'reminder interval while an escalation is unacknowledged'),
        deadline('replacement-window', 'replacementWindowMs', 'how long a DELIVERED document stays open for replace'),
        deadline('decision-window', 'decisionWindowMs', 'how long a business rejection waits for an operator'),
      ],
    },
    reasonField: 'reason',
    overridesBusinessRejection: false,
    changesDeadlines: true,
  },
};
