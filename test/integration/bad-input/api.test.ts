/**
 * Bad submissions through the real HTTP API, wired to the real Temporal dev server, worker and
 * mesh-sandbox: malformed JSON, wrong media types, oversized bodies, wrong types, invalid NHS
 * numbers, injection attempts in every structured string field, control characters in every field, bad
 * headers and bad credentials. Every one must get a specific 4xx (a status and an error code that say
 * what was wrong, never a generic 400 or a 5xx), and none may reach MESH: no delivery workflow starts
 * and the GP practice receives nothing.
 */
import { startHarness, type Harness } from '../../helpers/courier-harness';
import { FREE_TEXT, INJECTIONS, exampleSubmission, stringPaths, withField } from '../../fixtures/bad-input/submissions';

jest.setTimeout(300_000);

interface Tried {
  name: string;
  status: number;
  error: string;
  issues: Array<{ path?: string }>;
}

describe('bad submissions through the API', () => {
  let h: Harness;
  const tried: Tried[] = [];

  beforeAll(async () => {
    h = await startHarness({ LOG_LEVEL: 'error' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function post(name: string, body: string | Buffer, headers: Record<string, string> = {}, token: string | null = h.tokens.submitter): Promise<Tried> {
    const res = await fetch(`${h.apiUrl}/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body,
    });
    const text = await res.text();
    let json: { error?: string; issues?: Array<{ path?: string }> } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // not JSON: the test below fails on the missing error code
    }
    const t = { name, status: res.status, error: json.error ?? `(no error code: ${text.slice(0, 80)})`, issues: json.issues ?? [] };
    tried.push(t);
    return t;
  }

  const postJson = (name: string, value: unknown, headers: Record<string, string> = {}): Promise<Tried> => post(name, JSON.stringify(value), headers);

  function expectSpecific(t: Tried, status: number, error: string | RegExp, field?: string): void {
    expect({ name: t.name, status: t.status }).toEqual({ name: t.name, status });
    if (typeof error === 'string') expect(t.error).toBe(error);
    else expect(t.error).toMatch(error);
    if (field) expect(t.issues.map((i) => i.path ?? '').some((p) => p === field || p.startsWith(`${field}.`) || field.startsWith(`${p}.`))).toBe(true);
  }

  it('malformed JSON and wrong media types', async () => {
    expectSpecific(await post('truncated JSON', '{"documentId": "6f1c1f0e-'), 400, /^FST_ERR_CTP_INVALID_JSON|INVALID_JSON|BAD_JSON/);
    expectSpecific(await post('trailing garbage', `${JSON.stringify(exampleSubmission())}}}`), 400, /JSON/);
    expectSpecific(await post('empty body', ''), 400, /EMPTY|JSON/);
    expectSpecific(await post('prototype pollution', '{"__proto__": {"admin": true}, "documentId": "x"}'), 400, /PROTO|JSON|SUBMISSION_INVALID/);
    // Fastify reads text/plain as a string, which is then not a submission object.
    expectSpecific(await post('text/plain', JSON.stringify(exampleSubmission()), { 'content-type': 'text/plain' }), 400, 'SUBMISSION_INVALID');
    expectSpecific(await post('XML', '<Bundle/>', { 'content-type': 'application/xml' }), 415, /MEDIA_TYPE/);
  });

  it('JSON that is not a submission object', async () => {
    for (const [name, v] of [['null', null], ['array', [exampleSubmission()]], ['number', 42], ['string', 'submit'], ['empty object', {}]] as const) {
      expectSpecific(await postJson(name, v), 400, 'SUBMISSION_INVALID');
    }
  });

  it('an oversized body (over 10 MiB) is refused before it is parsed', async () => {
    const big = { ...exampleSubmission(), attachments: [{ contentType: 'application/pdf', dataBase64: 'A'.repeat(11 * 1024 * 1024) }] };
    expectSpecific(await postJson('11 MiB body', big), 413, /TOO_LARGE/);
  });

  it('a body under the limit whose message would be over the ITK3 size limit is refused', async () => {
    const big = { ...exampleSubmission(), attachments: [{ contentType: 'application/pdf', dataBase64: 'A'.repeat(8 * 1024 * 1024) }] };
    const t = await postJson('8 MiB attachment', big);
    expect(t.status).toBe(400);
    expect(['SUBMISSION_INVALID', 'ITK3_BUILD_REJECTED']).toContain(t.error);
  });

  it('wrong types and invalid NHS numbers name the field', async () => {
    const base = exampleSubmission();
    const cases: Array<[string, string[], unknown]> = [
      ['version as a string', ['version'], '1'],
      ['documentId as a number', ['documentId'], 123],
      ['patient null', ['patient'], null],
      ['attachments an object', ['attachments'], {}],
      ['dataBase64 a number', ['report', 'dataBase64'], 5],
      ['birthDate not a date', ['patient', 'birthDate'], '31/01/1970'],
      ['deadline negative', ['deadlines'], { infrastructureAckMs: -1 }],
      ['NHS number wrong check digit', ['patient', 'nhsNumber'], '9990000017'],
      ['NHS number nine digits', ['patient', 'nhsNumber'], '999000001'],
      ['NHS number with spaces', ['patient', 'nhsNumber'], '999 000 0018'],
      ['NHS number as a number', ['patient', 'nhsNumber'], 9990000018],
      ['NHS number letters', ['patient', 'nhsNumber'], 'ABCDEFGHIJ'],
    ];
    for (const [name, path, value] of cases) expectSpecific(await postJson(name, withField(base, path, value)), 400, 'SUBMISSION_INVALID', path.join('.'));
  });

  it('injection attempts in every structured string field, and control characters in every field', async () => {
    const base = exampleSubmission();
    const paths = stringPaths(base).map((p) => p.join('.'));
    for (const p of paths.filter((x) => !FREE_TEXT.has(x))) {
      for (const k of ['sql', 'visibilityQuery', 'script', 'xmlBreakout', 'xxe', 'jndi', 'pathTraversal', 'headerCrLf', 'nonLatin1']) {
        expectSpecific(await postJson(`${k} in ${p}`, withField(base, p.split('.'), INJECTIONS[k])), 400, 'SUBMISSION_INVALID', p);
      }
    }
    for (const p of paths) {
      for (const k of ['nullByte', 'escape']) expectSpecific(await postJson(`${k} in ${p}`, withField(base, p.split('.'), INJECTIONS[k])), 400, 'SUBMISSION_INVALID', p);
    }
  });

  it('characters XML cannot carry, in every text field, name the field', async () => {
    const base = exampleSubmission();
    const paths = stringPaths(base).map((p) => p.join('.')).filter((p) => FREE_TEXT.has(p));
    // Noncharacters such as U+FFFF and U+FFFE are valid JSON but make the XML not well formed: the practice could not read it.
    for (const p of paths) {
      for (const [what, ch] of [['U+FFFF', '\uffff'], ['U+FFFE', '\ufffe'], ['a lone surrogate', '\ud800'], ['U+FDD0', '\ufdd0']] as const) {
        expectSpecific(await postJson(`${what} in ${p}`, withField(base, p.split('.'), `A${ch}b`)), 400, 'SUBMISSION_INVALID', p);
      }
    }
  });

  it('FHIR types are strict: seconds and offsets, encounter order, sane dates, NHS number, PDF header', async () => {
    const base = exampleSubmission();
    const notPdf = Buffer.from('<html>not a pdf</html>').toString('base64');
    const cases: Array<[string, string[], unknown, string]> = [
      ['dateTime without seconds', ['encounter', 'start'], '2026-11-25T09:30+00:00', 'encounter.start'],
      ['offset beyond +14:00', ['encounter', 'start'], '2026-11-25T09:30:00+14:30', 'encounter.start'],
      ['encounter ends before it starts', ['encounter', 'end'], '2026-11-25T09:00:00+00:00', 'encounter.end'],
      ['encounter a year in the future', ['encounter'], { ...base.encounter, start: '2099-01-01T09:00:00+00:00', end: '2099-01-01T09:20:00+00:00' }, 'encounter.start'],
      ['birth date before 1900', ['patient', 'birthDate'], '1899-12-31', 'patient.birthDate'],
      ['birth date in the future', ['patient', 'birthDate'], '2099-01-01', 'patient.birthDate'],
      ['all-zero NHS number', ['patient', 'nhsNumber'], '0000000000', 'patient.nhsNumber'],
      ['report that is not a PDF', ['report', 'dataBase64'], notPdf, 'report.dataBase64'],
      ['name of white space only', ['patient', 'familyName'], '   ', 'patient.familyName'],
    ];
    for (const [name, path, value, field] of cases) {
      const t = await postJson(name, withField(base, path, value));
      expect({ name, status: t.status }).toEqual({ name, status: 400 });
      expect(['SUBMISSION_INVALID', 'ITK3_BUILD_REJECTED']).toContain(t.error);
      expect({ name, paths: t.issues.map((i) => i.path) }).toEqual({ name, paths: expect.arrayContaining([field]) });
    }
  });

  it('bad headers and bad credentials', async () => {
    const body = JSON.stringify(exampleSubmission());
    expectSpecific(await post('Idempotency-Key too long', body, { 'idempotency-key': 'k'.repeat(300) }), 400, 'INVALID_REQUEST', 'Idempotency-Key');
    expectSpecific(await post('no token', body, {}, null), 401, 'UNAUTHENTICATED');
    expectSpecific(await post('wrong token', body, {}, 'not-a-token-of-this-deployment'), 401, 'UNAUTHENTICATED');
    const res = await fetch(`${h.apiUrl}/v1/documents/send-document-x-v1/actions/abandon`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.tokens.submitter}` },
      body: JSON.stringify({ reason: 'not mine to abandon' }),
    });
    expect(res.status).toBe(403);
  });

  it('none of them reached MESH: no delivery started, the GP practice received nothing', async () => {
    expect(tried.length).toBeGreaterThan(100);
    // Nothing was accepted...
    expect(tried.filter((t) => t.status < 400 || t.status >= 500)).toEqual([]);
    // ...so no delivery workflow exists on this harness's task queue, and the peer saw nothing.
    const q = `TaskQueue = '${h.config.env.ITK3_TASK_QUEUE}' AND WorkflowType = 'sendDocumentWorkflow'`;
    expect((await h.temporal.workflow.count(q)).count).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.peerRecords()).toEqual([]);
  });
});
