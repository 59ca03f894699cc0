/**
 * The options of an operator action's command, as its registry entry describes them
 * (contracts/operator-actions.ts, contracts/quarantine-actions.ts), and the request body they make.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { OperatorCliOption } from '../../contracts/operator-actions';

/** A local problem (unreadable file, bad option): exit code 1. */
export class CliUsageError extends Error {}

export async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliUsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The help line of an action's command: its summary, marked as needing the operator role. */
export function actionHelp(summary: string): string {
  return `${summary.charAt(0).toLowerCase()}${summary.slice(1)} (operator)`;
}

export function addActionOptions(command: Command, options: readonly OperatorCliOption[]): Command {
  for (const o of options) command.addOption(o.required ? new Option(o.flags, o.help).makeOptionMandatory() : new Option(o.flags, o.help));
  return command;
}

/**
 * The request body from a command's parsed options. Values inside `deadlines` are gathered into that
 * object, which is sent only when one was given (the action's own check says whether one is needed).
 */
export async function actionBody(options: readonly OperatorCliOption[], parsed: Record<string, unknown>): Promise<{ body: Record<string, unknown>; deadlines: Record<string, unknown> }> {
  const body: Record<string, unknown> = {};
  const deadlines: Record<string, unknown> = {};
  for (const o of options) {
    const given = parsed[new Option(o.flags).attributeName()];
    if (given === undefined || given === false || o.value === 'ignored') continue;
    let value: unknown = given;
    if (o.value === 'switch') value = true;
    else if (o.value === 'json-file') value = await readJson(String(given));
    else if (o.value === 'integer') {
      value = Number(given);
      if (!Number.isInteger(value)) throw new CliUsageError(`${o.flags.split(' ')[0]} must be a whole number`);
    }
    if (o.in === 'deadlines') deadlines[o.field] = value;
    else body[o.field] = value;
  }
  return { body, deadlines };
}
