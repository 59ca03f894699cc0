import { readdirSync, readFileSync, statSync } from 'fs';
import path from 'path';

/**
 * docs/requirements.md must list every requirement of the catalogue exactly once, and every row marked
 * implemented must name tests that exist. The catalogue ids are kept in test/fixtures/itk3 so this runs
 * on a clone without the specification folder; where it is present the snapshot must equal the catalogue.
 */
const ROOT = path.resolve(__dirname, '../../..');
const TABLE = readFileSync(path.join(ROOT, 'docs/requirements.md'), 'utf8');
const STATUSES = ['implemented', 'elsewhere', 'not applicable', 'not yet'];

interface Row {
  id: string;
  status: string;
  evidence: string;
}

function rows(markdown: string): Row[] {
  return markdown
    .split('\n')
    .filter((l) => /^\|\s*[A-Za-z]/.test(l) && !/^\|\s*Id\s*\|/.test(l))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((c) => ({ id: c[1] ?? '', status: c[3] ?? '', evidence: c[4] ?? '' }));
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return testFiles(p);
    return f.endsWith('.test.ts') ? [p] : [];
  });
}

/** Every test title in the test tree: plain `it('...')` titles and `it.each(...)('... %s ...')` expanded with the file's string literals. */
function testTitles(): Set<string> {
  const titles = new Set<string>();
  for (const file of testFiles(path.join(ROOT, 'test'))) {
    const src = readFileSync(file, 'utf8');
    const literals = [...src.matchAll(/'((?:[^'\\\n]|\\.)*)'/g)].map((m) => (m[1] ?? '').replace(/\\'/g, "'"));
    for (const m of src.matchAll(/\bit(\.each\([^]*?\))?\(\s*'((?:[^'\\\n]|\\.)*)'/g)) {
      const title = (m[2] ?? '').replace(/\\'/g, "'");
      if (m[1] && title.includes('%s')) for (const lit of literals) titles.add(title.replace('%s', lit));
      else titles.add(title);
    }
  }
  return titles;
}

const SNAPSHOT = (
  JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/itk3/requirement-ids.json'), 'utf8')) as { ids: string[] }
).ids;

describe('requirement traceability (docs/requirements.md)', () => {
  const catalogue = SNAPSHOT;

  // The snapshot is checked against the catalogue itself in the conformance project (test/conformance).
  const table = rows(TABLE);
  const titles = testTitles();

  it('lists every catalogue requirement exactly once', () => {
    const ids = table.map((r) => r.id);
    expect(catalogue.filter((id) => !ids.includes(id))).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('uses only the known statuses', () => {
    expect(table.filter((r) => !STATUSES.includes(r.status)).map((r) => `${r.id}: ${r.status}`)).toEqual([]);
  });

  it('names an existing test for every requirement marked implemented', () => {
    const problems: string[] = [];
    for (const r of table.filter((x) => x.status === 'implemented')) {
      const named = [...r.evidence.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '').filter((n) => n.includes(' '));
      if (named.length === 0) problems.push(`${r.id}: no test named`);
      const missing = named.filter((n) => !titles.has(n) && !/^[a-zA-Z]+\(/.test(n) && !/^[A-Za-z/.]+$/.test(n));
      for (const n of missing) problems.push(`${r.id}: no test titled "${n}"`);
    }
    expect(problems).toEqual([]);
  });

  it('gives a reason for every requirement not implemented here', () => {
    expect(table.filter((r) => r.status !== 'implemented' && r.evidence.length < 10).map((r) => r.id)).toEqual([]);
  });
});
