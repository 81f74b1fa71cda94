/**
 * NestJS 12 (and a few of its dependencies) ship as ES modules. Node 20 loads
 * them through require(esm), but Jest's module system cannot before Node 24.9,
 * so the test run compiles exactly those files to CommonJS with SWC. Files of
 * CommonJS packages pass through untouched.
 */
const { createTransformer } = require('@swc/jest');
const fs = require('node:fs');
const path = require('node:path');

const swc = createTransformer({
  jsc: { parser: { syntax: 'ecmascript' }, target: 'es2023' },
  module: { type: 'commonjs' },
});

const typeByDir = new Map();

function packageType(dir) {
  if (typeByDir.has(dir)) return typeByDir.get(dir);
  const manifest = path.join(dir, 'package.json');
  let type;
  if (fs.existsSync(manifest)) {
    const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    type = parsed.type === 'module' ? 'module' : parsed.name ? 'commonjs' : undefined;
  }
  if (type === undefined) {
    const parent = path.dirname(dir);
    type = parent === dir ? 'commonjs' : packageType(parent);
  }
  typeByDir.set(dir, type);
  return type;
}

function isEsm(filename) {
  if (filename.endsWith('.mjs')) return true;
  if (filename.endsWith('.cjs')) return false;
  return packageType(path.dirname(filename)) === 'module';
}

module.exports = {
  process(source, filename, options) {
    return isEsm(filename) ? swc.process(source, filename, options) : { code: source };
  },
  getCacheKey(source, filename, options) {
    return `${isEsm(filename)}:${swc.getCacheKey(source, filename, options)}`;
  },
};
