/**
 * The one check of a required free-text field of an operator update (actor, reason, note) inside workflow
 * code, where zod is not used. Pure, so the pure cases and the update validators share it.
 */
export function textProblem(value: unknown, name: string, max: number): string | undefined {
  if (typeof value !== 'string' || value.trim().length === 0) return `${name} is required`;
  if (value.length > max) return `${name} is longer than ${max} characters`;
  return undefined;
}
