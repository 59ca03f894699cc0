/**
 * The Web UI texts of the delivery workflow (workflows/delivery-metadata.ts): the deadline each timer is
 * named after, the actions offered (derived from the operator-action registry), and nothing but ids,
 * ODS codes, codes and times.
 */
import type { Escalation } from '../../../contracts';
import { OPERATOR_ACTION_NAMES, OPERATOR_ACTIONS } from '../../../contracts/operator-actions';
import {
  buildAndSendSummary,
  buildSummary,
  deliveryDetails,
  deliveryStaticDetails,
  deliveryStaticSummary,
  deliveryTimerSummary,
  escalationSummary,
  sendSummary,
  trackSummary,
  type DeliveryDetailsInput,
} from '../../../workflows/delivery-metadata';

const DOC = '0b7e3c1a-5d2f-4e8a-9c6b-1f2e3d4c5b6a';
const WF = `delivery-${DOC}-v2`;
const base = (over: Partial<DeliveryDetailsInput> = {}): DeliveryDetailsInput => ({
  workflowId: WF,
  documentId: DOC,
  version: 2,
  senderOds: 'X26',
  recipientOds: 'A12345',
  attempt: 1,
  status: 'AWAITING_BUSINESS_ACK',
  waitingFor: 'BUSINESS_ACK',
  waitingUntil: '2026-11-27T12:00:00.000Z',
  allowed: ['abandon', 'changeDeadlines'],
  allowedWithOverride: [],
  nextDueAt: '2026-11-27T12:00:00.000Z',
  ...over,
});
const escalation = (over: Partial<Escalation> = {}): Escalation => ({
  id: 'esc-1',
  key: 'NO_BUSINESS_ACK:1',
  status: 'AWAITING_BUSINESS_ACK',
  reason: 'no business acknowledgement for attempt 1 by 2026-11-27T12:00:00.000Z; still waiting',
  attempt: 1,
  raisedAt: '2026-11-27T12:00:00.000Z',
  reminders: 0,
  nextReminderAt: '2026-11-28T12:00:00.000Z',
  ...over,
});

describe('delivery static texts', () => {
  it('name the document, its version, ODS → ODS and the spec profile', () => {
    const d = { workflowId: WF, documentId: DOC, version: 2, senderOds: 'X26', recipientOds: 'A12345', replaces: { version: 1 } };
    expect(deliveryStaticSummary(d)).toBe(`Deliver document ${DOC} v2: X26 → A12345 (replaces v1)`);
    const details = deliveryStaticDetails(d, '1.x');
    expect(details).toContain(`\`${DOC}\` version **2**: sending organisation **X26** → practice **A12345**, replacing version 1`);
    expect(details).toContain('**Spec profile:** GP Connect Send Document 1.x');
    expect(details).toContain(`\`itk3 status ${WF}\``);
    expect(deliveryStaticDetails(d)).toContain("the worker's ITK3_SPEC_PROFILE");
  });
});

describe('delivery timer and activity summaries', () => {
  it('names the deadline the one timer waits for', () => {
    expect(deliveryTimerSummary(base({ status: 'AWAITING_INFRASTRUCTURE_ACK', waitingFor: 'INFRASTRUCTURE_ACK', attempt: 3 }))).toBe('infrastructure-ack deadline for attempt 3');
    expect(deliveryTimerSummary(base())).toBe('business-ack deadline for attempt 1');
    expect(deliveryTimerSummary(base({ status: 'DELIVERED', waitingFor: 'REPLACEMENT_WINDOW' }))).toBe('replacement window ends');
    expect(deliveryTimerSummary(base({ status: 'REJECTED', waitingFor: 'OPERATOR' }))).toBe('decision window after the business rejection ends');
  });

  it('names the escalation reminder when it comes first', () => {
    const e = escalation({ reminders: 1 });
    expect(deliveryTimerSummary(base({ escalation: e, nextDueAt: e.nextReminderAt }))).toBe('escalation reminder for NO_BUSINESS_ACK:1 (reminder 2)');
    // The deadline first: the deadline.
    expect(deliveryTimerSummary(base({ escalation: e, nextReminderAt: undefined } as Partial<DeliveryDetailsInput>))).toBe('business-ack deadline for attempt 1');
    expect(deliveryTimerSummary(base({ status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', waitingUntil: undefined, escalation: e, nextDueAt: e.nextReminderAt }))).toBe(
      'escalation reminder for NO_BUSINESS_ACK:1 (reminder 2)',
    );
  });

  it('names each activity after its attempt or escalation', () => {
    expect(buildSummary(2)).toBe('build ITK3 message for attempt 2');
    expect(sendSummary(2)).toBe('send attempt 2 over MESH');
    expect(buildAndSendSummary(2)).toBe('build and send attempt 2 over MESH');
    expect(trackSummary(2)).toBe('ask MESH tracking about attempt 2');
    const input = { workflowId: WF, documentId: DOC, state: 'AWAITING_INFRASTRUCTURE_ACK', reason: 'r', attempt: 1, escalationId: 'esc-1' };
    expect(escalationSummary({ ...input, kind: 'RAISED' }, 'NO_INFRASTRUCTURE_ACK:1')).toBe('raise escalation NO_INFRASTRUCTURE_ACK:1 (attempt 1)');
    expect(escalationSummary({ ...input, kind: 'REMINDER' }, 'NO_INFRASTRUCTURE_ACK:1')).toBe('remind of escalation NO_INFRASTRUCTURE_ACK:1 (attempt 1)');
    expect(escalationSummary({ ...input, kind: 'RESOLVED', code: '30002' })).toBe('resolve escalation 30002 (attempt 1)');
  });
});

describe('delivery current details', () => {
  it('give status, what it waits for and until when, and the open escalation with its reason', () => {
    const e = escalation();
    const text = deliveryDetails(base({ escalation: e, allowed: ['resend', 'acknowledgeEscalation', 'abandon'], nextDueAt: e.nextReminderAt }));
    expect(text).toContain(`### Document \`${DOC}\` v2: X26 → A12345`);
    expect(text).toContain('**Status:** AWAITING_BUSINESS_ACK · attempt 1');
    expect(text).toContain('**Waiting for:** the business acknowledgement of attempt 1 from A12345, until **2026-11-27T12:00:00.000Z** · next acts on its own at **2026-11-28T12:00:00.000Z**');
    expect(text).toContain('**Open escalation** `esc-1` (NO_BUSINESS_ACK:1) raised at 2026-11-27T12:00:00.000Z, not acknowledged, next reminder at 2026-11-28T12:00:00.000Z.');
    expect(text).toContain(`**Reason:** ${e.reason}`);
    expect(text).toContain(`\`itk3 ack ${WF} --note "<what you are doing about it>" --escalation esc-1\``);
  });

  it('offers exactly the allowed actions, each with its CLI line, route and update from the registry', () => {
    const text = deliveryDetails(base({ allowed: [...OPERATOR_ACTION_NAMES] }));
    for (const name of OPERATOR_ACTION_NAMES) {
      const spec = OPERATOR_ACTIONS[name];
      expect(text).toContain(`\`itk3 ${spec.cli.command} ${WF}`);
      expect(text).toContain(`\`POST /v1/documents/${WF}/actions/${spec.route}\``);
      expect(text).toContain(`update \`${name}\` \`{"${spec.reasonField}": `);
    }
    expect(text).toContain(`\`itk3 correct ${WF} --submission <file.json> --reason "<why>"\``);
    expect(text).toContain('"submissionRef": <claim check the API stores>');
    expect(text).toContain(`\`itk3 deadlines ${WF} --reason "<why>" --infrastructure-ack <e.g. 4h>\``);
    expect(text).toContain('"deadlines": {"infrastructureAckMs": <ms>}');

    const few = deliveryDetails(base({ allowed: ['abandon'] }));
    expect(few).toContain('/actions/abandon');
    expect(few).not.toContain('/actions/resend');
    expect(few).not.toContain('itk3 replace');
  });

  it('offers a resend to a route that rejected it only with the override', () => {
    const text = deliveryDetails(base({ status: 'REJECTED', waitingFor: 'OPERATOR', allowed: ['abandon'], allowedWithOverride: ['resend'] }));
    expect(text).toContain(`\`itk3 resend ${WF} --reason "<why>" --override-business-rejection\``);
    expect(text).toContain('update `resend` `{"reason": "<why>", "overrideBusinessRejection": true}`');
    expect(text).toContain('(overriding the business rejection)');
  });

  it('says nothing is left to do once the delivery has ended', () => {
    const text = deliveryDetails(base({ status: 'ABANDONED', waitingFor: 'NOTHING', waitingUntil: undefined, nextDueAt: undefined, allowed: [] }));
    expect(text).toContain('**Waiting for:** nothing');
    expect(text).toContain('- none: the delivery has ended');
  });
});
