/** Configuration tests: what loadConfig reports for an environment, as the list of problems (empty = valid). */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../config/env';

/** A fresh key for a key ring entry (keyId:<this>). */
export const newKey = (): string => randomBytes(32).toString('base64');

/** The problems loadConfig reports for `env`; any other error is rethrown. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
