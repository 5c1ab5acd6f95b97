// Nx loads a generator with require(). Without @swc-node/register or ts-node (and on Node 20,
// without native type stripping) it cannot load TypeScript itself, so tsx compiles the generator's
// source here, scoped to this require: nothing else in the Nx process is affected.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS is what Nx loads
const { require: tsxRequire } = require('tsx/cjs/api');

module.exports = tsxRequire('./generator.ts', __filename);
