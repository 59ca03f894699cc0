#!/usr/bin/env node
/**
 * `itk3`: the operator and integrator CLI over the HTTP API (every operation; see `itk3 --help`).
 * Authentication: `--token` or ITK3_API_TOKEN (a bearer token from ITK3_API_TOKENS).
 * Exit codes: 0 ok; 1 usage or local input problem; 2 the API refused the request (4xx: invalid,
 * unauthorised, not found, not allowed in this state); 3 the API could not be reached or failed (5xx).
 */
import { Command, CommanderError } from 'commander';
import { CliUsageError, registerDeliveryCommands } from './cli-commands';
import { CourierApiError, CourierHttpClient } from '../lib/http-client';
import { registerQuarantineCommands } from './quarantine-commands';
import { registerConsultationCommands } from './consultation-commands';

// `itk3 status x | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('itk3')
  .description('ITK3 Courier: send GP Connect documents over MESH and follow their acknowledgements')
  .option('--api <url>', 'ITK3 Courier API base URL (ITK3_API_URL)', process.env.ITK3_API_URL ?? 'http://127.0.0.1:3000')
  .option('--token <token>', 'bearer token (default: ITK3_API_TOKEN)')
  .option('--json', 'print machine-readable JSON')
  .exitOverride();

type GlobalOpts = { api: string; token?: string; json?: boolean };
const token = (): string | undefined => program.opts<GlobalOpts>().token ?? process.env.ITK3_API_TOKEN;
const client = (): CourierHttpClient => {
  const t = token();
  return new CourierHttpClient({ baseUrl: program.opts<GlobalOpts>().api, ...(t ? { token: t } : {}) });
};
const asJson = (): boolean => Boolean(program.opts<GlobalOpts>().json);

registerDeliveryCommands(program, { client, asJson });
registerQuarantineCommands(program, {
  apiUrl: () => program.opts<GlobalOpts>().api,
  asJson,
  headers: (): Record<string, string> => (token() ? { authorization: `Bearer ${token()}` } : {}),
});
registerConsultationCommands(program, {
  apiUrl: () => program.opts<GlobalOpts>().api,
  asJson,
  headers: (): Record<string, string> => (token() ? { authorization: `Bearer ${token()}` } : {}),
});

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 1);
  if (err instanceof CliUsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof CourierApiError) {
    if (asJson()) {
      process.stderr.write(`${JSON.stringify({ status: err.status, error: err.error, message: err.message, issues: err.issues, ...(err.refusal ? { refusal: err.refusal } : {}) })}\n`);
    } else {
      process.stderr.write(`error ${err.status} ${err.error}${err.refusal && err.refusal !== err.error ? ` (${err.refusal})` : ''}: ${err.message}\n`);
      for (const i of err.issues) process.stderr.write(`  - ${i.path ? `${i.path}: ` : ''}${i.message}${i.requirementId ? ` [${i.requirementId}]` : ''}\n`);
    }
    process.exit(err.status >= 500 ? 3 : 2);
  }
  process.stderr.write(`cannot reach the ITK3 Courier API: ${(err as Error).message}\n`);
  process.exit(3);
});
