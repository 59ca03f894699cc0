/**
 * Comments say why, next to the code, in words a reader of this repository can follow: no tracker
 * numbers, no history, and no citations of documents that are not in the repository (the house style
 * guide, the protocol notes kept beside it, or the shared folder next to a checkout). This scans every
 * comment of every source folder, tests included, with the TypeScript scanner (so strings and regular
 * expressions are never mistaken for comments), and `#` comments of shell and Python scripts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const FOLDERS = ['activities', 'bench', 'client', 'codec', 'config', 'contracts', 'itk3', 'mesh', 'payload-codec', 'scripts', 'store', 'test', 'worker', 'workflows'];
const SCRIPT_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs'];
const HASH_EXTENSIONS = ['.sh', '.py'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.venv', '__pycache__', 'histories']);

/** What a comment must not contain, each with the reason a reader would give. */
const FORBIDDEN: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /\bissue\s*#?\d+/i, why: 'a tracker number: say what the code does and why' },
  { pattern: /\bSTYLE\.md\b/, why: 'the house style guide is not in the repository' },
  { pattern: /\breference\/[\w.-]+/, why: 'a protocol note outside the repository' },
  { pattern: /\breference\s*§/, why: 'a section of a protocol note outside the repository' },
  { pattern: /\.\.\/shared\b/, why: 'a folder outside the repository' },
];

/**
 * Files owned by work still in progress elsewhere that break the rule today. Each entry must be removed
 * when its file is fixed; the test fails on an entry that is no longer needed, so the list only shrinks.
 */
const PENDING: ReadonlySet<string> = new Set<string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return SKIP_DIRS.has(name) ? [] : sourceFiles(full);
    const ext = path.extname(name);
    return SCRIPT_EXTENSIONS.includes(ext) || HASH_EXTENSIONS.includes(ext) ? [full] : [];
  });
}

/**
 * The comments of a TypeScript or JavaScript text, with the line each starts on: the comment ranges
 * before and after every node of the parsed file, so text inside strings, templates and regular
 * expressions is never taken for a comment.
 */
function scriptComments(text: string): Array<{ line: number; text: string }> {
  const source = ts.createSourceFile('scan.ts', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const seen = new Map<number, string>();
  const collect = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node): void => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    node.getChildren(source).forEach(visit);
  };
  visit(source);
  return [...seen].map(([pos, comment]) => ({ line: source.getLineAndCharacterOfPosition(pos).line + 1, text: comment }));
}

/** `#` comments of a shell or Python text (a `#` at the start of a line or after a space). */
function hashComments(text: string): Array<{ line: number; text: string }> {
  return text.split('\n').flatMap((line, i) => {
    const m = /(?:^|\s)(#(?!!).*)$/.exec(line);
    return m ? [{ line: i + 1, text: m[1]! }] : [];
  });
}

function commentProblems(file: string, text: string): string[] {
  const comments = HASH_EXTENSIONS.includes(path.extname(file)) ? hashComments(text) : scriptComments(text);
  return comments.flatMap((c) => FORBIDDEN.filter((f) => f.pattern.test(c.text)).map((f) => `${file}:${c.line}: ${f.why}: ${c.text.trim().slice(0, 120)}`));
}

describe('source comments', () => {
  const files = FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder))).map((full) => path.relative(ROOT, full).split(path.sep).join('/'));
  const problems = new Map(files.map((f) => [f, commentProblems(f, readFileSync(path.join(ROOT, f), 'utf8'))] as const));

  it('scans every source folder', () => {
    for (const folder of FOLDERS) expect(files.some((f) => f.startsWith(`${folder}/`))).toBe(true);
  });

  it('cite no tracker numbers and no documents outside the repository', () => {
    expect([...problems].filter(([f]) => !PENDING.has(f)).flatMap(([, p]) => p)).toEqual([]);
  });

  it('keeps the pending list to files that still need it', () => {
    expect([...PENDING].filter((f) => (problems.get(f) ?? []).length === 0)).toEqual([]);
  });
});

describe('the comment scanner', () => {
  it.each([
    ['a.ts', '// Issue 8: the timer was wrong\nconst x = 1;'],
    ['a.ts', '/** see issue 12 */\nconst x = 1;'],
    ['a.ts', '/* STYLE.md says so */'],
    ['a.ts', '// as reference/itk3.md explains'],
    ['a.ts', '/** MESH subject (reference §5.3). */'],
    ['a.ts', '// read from ../shared/spec'],
    ['a.sh', 'echo hi # issue 3'],
    ['a.py', '# see ../shared/spec\nprint(1)'],
  ])('flags %s: %j', (file, text) => {
    expect(commentProblems(file, text)).toHaveLength(1);
  });

  it.each([
    ['a.ts', "const dir = path.resolve(ROOT, '../shared/spec'); // the official examples, when present"],
    ['a.ts', 'const re = /issue 8/; // matched in code, not said in a comment'],
    ['a.ts', 'const t = `issue ${n}`; // a template, not a comment'],
    ['a.ts', "const s = '// issue 4 is text in a string';"],
    ['a.sh', 'echo "#1 issue 5"'],
  ])('ignores what is not a comment: %s %j', (file, text) => {
    expect(commentProblems(file, text)).toEqual([]);
  });
});
