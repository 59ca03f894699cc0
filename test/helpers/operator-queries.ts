/** The Web UI query set of docs/operations.md ("### Query set" table), as the tests run it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function operatorQueries(): string[] {
  const doc = readFileSync(path.join(__dirname, '../../docs/operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Query set'), doc.indexOf('## 8.'));
  return [...section.matchAll(/^\| [^|]+ \| `([^`]+)` \|$/gm)].map((m) => m[1]!);
}
