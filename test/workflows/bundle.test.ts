/**
 * The workflow bundle stays workflow-safe and data-light: no zod (schemas are instantiated per cached
 * workflow, sdk-typescript#2227), no Node built-ins, no MESH, store or config code. Bundling here also
 * fails the run on a banned transitive import, rather than at worker start-up.
 */
import { bundle, WORKFLOWS_PATH } from './support';

jest.setTimeout(60_000);

it('bundles the workflows without zod, Node built-ins or I/O modules', async () => {
  const { code } = await bundle(WORKFLOWS_PATH);
  const modules = [...code.matchAll(/^\/\*\*\*\/ "(\.\/[^"]+)"/gm)].map((m) => m[1]!);
  expect(modules.length).toBeGreaterThan(5);
  expect(modules.filter((m) => /node_modules\/zod\//.test(m))).toEqual([]);
  expect(modules.filter((m) => /\/(mesh|store|config|activities|client|worker)\//.test(m) && !m.includes('node_modules'))).toEqual([]);
  expect(modules).toEqual(expect.arrayContaining(['./workflows/send-document.ts', './workflows/delivery-machine.ts', './contracts/search-attributes.ts']));
});
