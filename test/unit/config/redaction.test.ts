/**
 * Redaction by key: a fixture patient's NHS number logged at every redacted path, through
 * the pino logger and through the Temporal runtime adapter, appears nowhere in the output, and logging
 * never alters the caller's object (a fast-redact trap with overlapping paths).
 */
import { Writable } from 'node:stream';
import { createLogger, REDACT_PATHS } from '../../../config/logger';
import { forwardToPino } from '../../../worker/runtime';

const NHS = '9990000018';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
  return { logger, lines };
}

/** An object with the NHS number at `path` (wildcards filled with ordinary keys). */
function objectAt(path: string): Record<string, unknown> {
  const segments = path.replace(/\["([^"]+)"\]/g, '.$1').split('.');
  const root: Record<string, unknown> = {};
  let node = root;
  segments.forEach((seg, i) => {
    const key = seg === '*' ? `level${i}` : seg;
    if (i === segments.length - 1) node[key] = { nhsNumber: NHS, text: `nhs ${NHS}` };
    else node = (node[key] = {}) as Record<string, unknown>;
  });
  return root;
}

describe('log redaction', () => {
  it.each(REDACT_PATHS.map((p) => [p]))('hides what is logged under %s', (path) => {
    const { logger, lines } = capture();
    const obj = objectAt(path);
    const before = JSON.stringify(obj);
    logger.info(obj, 'fixture');
    expect(lines.join('')).toContain('[REDACTED]');
    expect(lines.join('')).not.toContain(NHS);
    expect(JSON.stringify(obj)).toBe(before);
  });

  it('never alters the logged object when paths overlap', () => {
    const { logger } = capture();
    const patient = { nhsNumber: NHS, familyName: 'Testpatient' };
    logger.info({ input: { patient }, nested: { a: { patient } }, patient }, 'overlap');
    expect(patient).toEqual({ nhsNumber: NHS, familyName: 'Testpatient' });
  });

  it('redacts what the Temporal runtime forwards (workflow and activity log metadata)', () => {
    const { logger, lines } = capture();
    const forward = forwardToPino(logger);
    forward({ level: 'INFO', message: 'workflow log', timestampNanos: 0n, meta: { workflowId: 'wf-1', patient: { nhsNumber: NHS } } });
    forward({ level: 'WARN', message: 'activity log', timestampNanos: 0n, meta: { activityType: 'x', submission: { patient: { nhsNumber: NHS } }, nhsNumber: NHS } });
    const out = lines.join('');
    expect(out).toContain('"workflowId":"wf-1"');
    expect(out).toContain('"sdk":true');
    expect(out).not.toContain(NHS);
    expect(JSON.parse(lines[1]!).level).toBe(40);
  });
});
