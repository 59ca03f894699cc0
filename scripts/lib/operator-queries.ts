/** The Web UI query set of docs/operations.md ("### Query set" table), as the tests and the cluster benchmark run it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './services';

export function operatorQueries(): string[] {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Query set'), doc.indexOf('## 8.'));
  return [...section.matchAll(/^\| [^|]+ \| `([^`]+)` \|$/gm)].map((m) => m[1]!);
}
