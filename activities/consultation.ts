/**
 * Consultation lifecycle activities (workflows/consultation.ts). The workflow carries only claim checks:
 * this activity reads the content a backend saved, gives it the document id, version and relatesTo the
 * workflow chose, checks it with the same dry run as the API, and stores the submission of that version
 * encrypted for the delivery workflow. Problems come back as data (paths and rules, never values), so
 * the workflow can escalate and wait for the next save instead of retrying something that cannot pass.
 */
import {
  CourierError,
  SubmissionSchema,
  type Issue,
  type Submission,
} from '../contracts';
import {
  ConsultationContentSchema,
  type PrepareConsultationSubmissionInput,
  type PrepareConsultationSubmissionResult,
} from '../contracts/consultation';
import { dryRunIssues } from '../itk3';
import type { ActivityDeps } from './deps';

export function createConsultationActivities(deps: Pick<ActivityDeps, 'store' | 'config' | 'logger'> & { now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  return {
    async prepareConsultationSubmission(input: PrepareConsultationSubmissionInput): Promise<PrepareConsultationSubmissionResult> {
      const invalid = (issues: Issue[]): PrepareConsultationSubmissionResult => {
        deps.logger.warn(
          { consultationWorkflowId: input.consultationWorkflowId, documentId: input.documentId, version: input.version, issues },
          'saved consultation content cannot be sent',
        );
        return { valid: false, issues };
      };
      let raw: Buffer;
      try {
        raw = await deps.store.get(input.contentRef);
      } catch (err) {
        // Missing or tampered content will not heal by retrying; a store outage throws something else and is retried.
        if (err instanceof CourierError) return invalid([{ path: 'contentRef', message: `${err.type}: the saved content cannot be read` }]);
        throw err;
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return invalid([{ path: 'contentRef', message: 'the saved content is not JSON' }]);
      }
      const content = ConsultationContentSchema.safeParse(json);
      if (!content.success) return invalid(content.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      if (content.data.sender.odsCode !== input.senderOds) {
        return invalid([{ path: 'sender.odsCode', message: 'must be the ODS code of the consultation key' }]);
      }
      const parsed = SubmissionSchema.safeParse({
        ...content.data,
        documentId: input.documentId,
        version: input.version,
        ...(input.replaces ? { replaces: input.replaces } : {}),
      });
      if (!parsed.success) return invalid(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      const submission: Submission = parsed.data;
      // The same dry run as the API: whatever a receiver must reject is refused before anything is sent.
      const refused = dryRunIssues(submission, deps.config, now());
      if (refused.length > 0) return invalid(refused);
      // A retry after a crash stores a second copy; only the returned reference is ever used.
      const submissionRef = await deps.store.put('submission', Buffer.from(JSON.stringify(submission)));
      deps.logger.info(
        { consultationWorkflowId: input.consultationWorkflowId, documentId: input.documentId, version: input.version, replaces: input.replaces },
        'consultation version prepared',
      );
      return { valid: true, submissionRef, recipientOds: submission.recipient.odsCode };
    },
  };
}
