/**
 * The operator actions on an inbound quarantine entry, each described once, as contracts/operator-actions.ts
 * does for deliveries: the update's wire name, what it does, its API route segment and its CLI command and
 * options. The API routes and so `/openapi.json` (client/api/quarantine-routes.ts), the typed client
 * (client/lib/quarantine-client.ts) and `itk3 quarantine` (client/cli/quarantine-commands.ts) are derived
 * from it. Plain data with no zod, so workflow code may import it.
 */
import type { OperatorCliOption } from './operator-actions';

/** The quarantine workflow's update names: stored in history, so never renamed. */
export const QUARANTINE_ACTION_NAMES = ['rerouteQuarantine', 'resolveQuarantine'] as const;
export type QuarantineActionName = (typeof QUARANTINE_ACTION_NAMES)[number];

export interface QuarantineActionSpec<N extends QuarantineActionName = QuarantineActionName> {
  readonly name: N;
  /** One line: the API operation's summary and the CLI command's help. */
  readonly summary: string;
  /** Path segment under `/v1/quarantine/{id}/`. */
  readonly route: string;
  /** A subcommand of `itk3 quarantine`. */
  readonly cli: { readonly command: string; readonly options: readonly OperatorCliOption[] };
}

// The API records the authenticated caller as the actor; the option stays so existing scripts still run.
const ignoredActor: OperatorCliOption = {
  flags: '--actor <name>',
  help: 'ignored: the API records the authenticated caller (token or certificate) as the actor',
  field: 'actor',
  value: 'ignored',
};

export const QUARANTINE_ACTIONS: { readonly [N in QuarantineActionName]: QuarantineActionSpec<N> } = {
  rerouteQuarantine: {
    name: 'rerouteQuarantine',
    summary: 'Send a quarantined message to a delivery workflow (and attempt), recorded with the authenticated caller and why',
    route: 'reroute',
    cli: {
      command: 'reroute',
      options: [
        { flags: '--to <workflowId>', help: 'the delivery workflow it belongs to', required: true, field: 'targetWorkflowId', value: 'text' },
        ignoredActor,
        { flags: '--reason <text>', help: 'why (kept with the entry and in the delivery timeline)', required: true, field: 'reason', value: 'text' },
        { flags: '--attempt <n>', help: 'the attempt it answers (default: the current attempt)', field: 'attempt', value: 'integer' },
        { flags: '--code <code>', help: 'the response code, only for content that cannot be read', field: 'code', value: 'text' },
      ],
    },
  },
  resolveQuarantine: {
    name: 'resolveQuarantine',
    summary: 'Close a quarantine entry without routing it, saying why, recorded with the authenticated caller',
    route: 'resolve',
    cli: {
      command: 'resolve',
      options: [ignoredActor, { flags: '--reason <text>', help: 'why', required: true, field: 'reason', value: 'text' }],
    },
  },
};
