/**
 * Checks a corrected or replacement submission that an operator update names by reference: the API
 * stored it encrypted, the update carries only its `ContentRef`, and this activity re-reads it and
 * decides whether the workflow may send it. Problems come back as data (never thrown), so the
 * workflow can refuse the update with the issues; they name paths and rules, never values.
 */
import {
  CourierError,
  SubmissionSchema,
  replacementPatientIssues,
  senderMailboxIssues,
  type CheckStoredSubmissionInput,
  type CheckStoredSubmissionResult,
  type Issue,
  type Submission,
} from '../contracts';
import { dryRunIssues } from '../itk3';
import type { ActivityDeps } from './deps';

/**
 * A stored submission read back: JSON, then the submission schema. Problems name paths and rules, never
 * values. Used by the content check of operator updates and by the build of every attempt.
 */
export function parseStoredSubmission(raw: Buffer): { ok: true; submission: Submission } | { ok: false; issues: Issue[] } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, issues: [{ path: 'submissionRef', message: 'the stored submission is not JSON' }] };
  }
  const parsed = SubmissionSchema.safeParse(json);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) };
  return { ok: true, submission: parsed.data };
}

export function createSubmissionCheckActivities(deps: Pick<ActivityDeps, 'store' | 'config'> & { now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  return {
    async checkStoredSubmission(input: CheckStoredSubmissionInput): Promise<CheckStoredSubmissionResult> {
      let raw: Buffer;
      try {
        raw = await deps.store.get(input.submissionRef);
      } catch (err) {
        if (err instanceof CourierError) return { valid: false, issues: [{ path: 'submissionRef', message: `${err.type}: the stored submission cannot be read` }] };
        throw err;
      }
      const parsed = parseStoredSubmission(raw);
      if (!parsed.ok) return { valid: false, issues: parsed.issues };
      const s = parsed.submission;
      const issues: Issue[] = [];
      if (s.documentId.toLowerCase() !== input.documentId.toLowerCase()) {
        issues.push({ path: 'documentId', message: 'must be the document id of this delivery' });
      }
      if (input.purpose === 'CORRECTION' && s.version !== input.version) {
        issues.push({ path: 'version', message: `a correction keeps the version (${input.version}); a new version is a replacement` });
      }
      issues.push(...senderMailboxIssues(s, deps.config.senderMailboxes));
      if (input.purpose === 'REPLACEMENT' && input.currentSubmissionRef) {
        const current = await deps.store.get(input.currentSubmissionRef).then(
          (b) => SubmissionSchema.safeParse(JSON.parse(b.toString('utf8'))),
          (err: unknown) => {
            if (err instanceof CourierError) return undefined;
            throw err;
          },
        );
        if (!current?.success) issues.push({ path: 'currentSubmissionRef', message: 'the submission being replaced cannot be read, so the patient cannot be compared' });
        else issues.push(...replacementPatientIssues(current.data, s));
      }
      if (input.purpose === 'REPLACEMENT') {
        if (s.version !== input.version + 1) issues.push({ path: 'version', message: `a replacement must be version ${input.version + 1}`, requirementId: 'GPCM-SD-098' });
        if (!s.replaces || s.replaces.documentId.toLowerCase() !== input.documentId.toLowerCase() || s.replaces.version !== input.version) {
          issues.push({ path: 'replaces', message: `must name the document it replaces (version ${input.version})`, requirementId: 'GPCM-SD-127' });
        }
      }
      // The same dry run as at submission: whatever a receiver must reject is refused before sending.
      issues.push(...dryRunIssues(s, deps.config, now()));
      return {
        valid: issues.length === 0,
        issues,
        senderOds: s.sender.odsCode,
        recipientOds: s.recipient.odsCode,
        version: s.version,
      };
    },
  };
}
