/**
 * The floors of the code base, checked on the TypeScript import graph: each top-level folder may import
 * only from the floors below it, so following any role's dependencies never climbs back up.
 *
 *   roles          worker/  client/  codec/ (the codec server)
 *   orchestration  workflows/ (deterministic: at run time only contracts/ and itself)
 *   effects        activities/
 *   libraries      contracts/  itk3/  mesh/  store/  config/  payload-codec/
 *
 * Type-only imports carry no code and are exempt where a rule says "at run time".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const LIBRARIES = ['contracts', 'itk3', 'mesh', 'store', 'config', 'payload-codec'] as const;
const ROLES = ['worker', 'client', 'codec'] as const;
const SOURCE_FOLDERS = [...LIBRARIES, 'activities', 'workflows', ...ROLES] as const;

interface ImportEdge {
  /** Importing file, relative to the repository root. */
  from: string;
  /** Imported file or folder, relative to the repository root (relative specifiers only). */
  to: string;
  /** `import type`, `export type`, or every named binding marked `type`. */
  typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every relative import and re-export of one source text, parsed by the TypeScript compiler. */
function importsOf(file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return;
    edges.push({ from: file, to: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier.text)), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier, node.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The top-level folder a repository path is in. */
const floorOf = (p: string): string => p.split('/')[0]!;

interface FloorRule {
  name: string;
  /** The folders the rule is about. */
  importers: readonly string[];
  /** True when this edge breaks the rule. */
  forbids: (edge: ImportEdge) => boolean;
}

const RULES: FloorRule[] = [
  {
    name: 'activities never import a role (worker, client, the codec server)',
    importers: ['activities'],
    forbids: (e) => (ROLES as readonly string[]).includes(floorOf(e.to)),
  },
  {
    name: 'libraries import no role, no activities, and no workflow code at run time',
    importers: LIBRARIES,
    forbids: (e) => {
      const to = floorOf(e.to);
      return (ROLES as readonly string[]).includes(to) || to === 'activities' || (to === 'workflows' && !e.typeOnly);
    },
  },
  {
    name: 'workflows import only contracts/ and workflows/ at run time',
    importers: ['workflows'],
    forbids: (e) => !e.typeOnly && !['contracts', 'workflows'].includes(floorOf(e.to)),
  },
];

/** Every edge of the source folders that breaks a rule, as `rule: from -> to`. */
function violations(edges: ImportEdge[], rules: FloorRule[] = RULES): string[] {
  return rules.flatMap((rule) =>
    edges.filter((e) => rule.importers.includes(floorOf(e.from)) && rule.forbids(e)).map((e) => `${rule.name}: ${e.from} -> ${e.to}`),
  );
}

function repositoryEdges(): ImportEdge[] {
  return SOURCE_FOLDERS.flatMap((folder) =>
    tsFiles(path.join(ROOT, folder)).flatMap((full) => importsOf(path.relative(ROOT, full).split(path.sep).join('/'), readFileSync(full, 'utf8'))),
  );
}

describe('floors of the import graph', () => {
  const edges = repositoryEdges();

  it('reads the real graph (every source folder has files and imports)', () => {
    for (const folder of SOURCE_FOLDERS) expect(edges.some((e) => floorOf(e.from) === folder)).toBe(true);
  });

  it('no import climbs a floor', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('activities/index.ts only re-exports', () => {
    const text = readFileSync(path.join(ROOT, 'activities/index.ts'), 'utf8');
    const source = ts.createSourceFile('index.ts', text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
    const kinds = source.statements.map((s) => ts.SyntaxKind[s.kind]);
    expect(kinds.every((k) => k === 'ExportDeclaration')).toBe(true);
  });
});

describe('the floor checker itself', () => {
  const check = (file: string, text: string) => violations(importsOf(file, text));

  it.each([
    ['activities/send.ts', "import { startWorker } from '../worker/worker';"],
    ['activities/send.ts', "import type { ApiDeps } from '../client/api';"],
    ['activities/send.ts', "import { buildCodecServer } from '../codec/codec-server';"],
    ['mesh/mesh-client.ts', "import { createActivities } from '../activities';"],
    ['itk3/build-message.ts', "export { stateQuery } from '../workflows/definitions';"],
    ['store/content-store.ts', "const w = require('../worker/compose');"],
    ['payload-codec/aes-gcm-codec.ts', "import { buildCodecServer } from '../codec/codec-server';"],
    ['workflows/send-document.ts', "import { buildSendDocumentMessage } from '../itk3';"],
    ['workflows/send-document.ts', "import { parseDuration, type Duration } from '../config/duration';"],
  ])('refuses %s: %s', (file, text) => {
    expect(check(file, text)).toHaveLength(1);
  });

  it.each([
    ['workflows/send-document.ts', "import type { Activities } from '../activities';"],
    ['workflows/send-document.ts', "import { type Activities } from '../activities';"],
    ['workflows/send-document.ts', "import { ErrorType } from '../contracts';"],
    ['contracts/delivery.ts', "import type { DeliveryState } from '../workflows/delivery-machine';"],
    ['worker/worker.ts', "import { createActivities } from '../activities';"],
    ['codec/main.ts', "import { AesGcmPayloadCodec } from '../payload-codec/aes-gcm-codec';"],
    ['activities/inbound.ts', "import { stateQuery } from '../workflows/definitions';"],
  ])('allows %s: %s', (file, text) => {
    expect(check(file, text)).toEqual([]);
  });
});
