/**
 * The requirement id snapshot that the unit traceability test uses (so that it runs on a clone without
 * the specification folder) must equal the requirements catalogue in it (ITK3_REQUIREMENTS_YML). Runs in CI beside the official examples.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '../..');
const CATALOGUE = process.env.ITK3_REQUIREMENTS_YML ?? path.resolve(ROOT, '../shared/spec/senddoc_requirements.yml');

describe('requirement catalogue snapshot', () => {
  it('keeps the requirement id snapshot equal to the catalogue in ../shared/spec', () => {
    if (!existsSync(CATALOGUE)) throw new Error(`requirement catalogue not found at ${CATALOGUE}: the conformance run needs ../shared beside the repository`);
    const ids = (parse(readFileSync(CATALOGUE, 'utf8')) as { requirements: { id: unknown }[] }).requirements.map((r) => String(r.id));
    const snapshot = (JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/itk3/requirement-ids.json'), 'utf8')) as { ids: string[] }).ids;
    expect(snapshot).toEqual(ids);
  });
});
