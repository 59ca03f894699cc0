/**
 * The submission rules the API and the operator's correct/replace path share: the sender mailbox must be
 * one this deployment reads, and a replacement must be about the same patient. Synthetic fixtures only.
 */
import { replacementPatientIssues, senderMailboxIssues } from '../../../contracts/submission';
import { PATIENTS, submission } from '../../fixtures/itk3/submissions';

describe('shared submission rules', () => {
  it('accepts a sender mailbox of this deployment and names the field and requirement otherwise', () => {
    expect(senderMailboxIssues(submission(), ['X26ABC1', 'Y12345OT001'])).toEqual([]);
    expect(senderMailboxIssues(submission(), ['X26ABC1'])).toEqual([expect.objectContaining({ path: 'sender.meshMailbox', requirementId: 'GPCM-SD-046' })]);
  });

  it('accepts a replacement about the same patient and refuses another NHS number or birth date', () => {
    const v1 = submission();
    expect(replacementPatientIssues(v1, submission({ version: 2 }))).toEqual([]);
    expect(replacementPatientIssues(v1, submission({ version: 2, patient: PATIENTS.bob }))).toEqual([expect.objectContaining({ path: 'patient', requirementId: 'GPCM-SD-126' })]);
    expect(replacementPatientIssues(v1, submission({ version: 2, patient: { ...PATIENTS.ada, birthDate: '1957-01-10' } }))).toEqual([
      expect.objectContaining({ path: 'patient', requirementId: 'GPCM-SD-126' }),
    ]);
  });
});
