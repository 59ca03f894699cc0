// Lets a child `node` run the TypeScript sources directly (for the CLI test): compiles each .ts file with
// @swc/core, which the project already uses for jest and the workflow bundle.
const fs = require('node:fs');
const swc = require('@swc/core');
require.extensions['.ts'] = function compile(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
