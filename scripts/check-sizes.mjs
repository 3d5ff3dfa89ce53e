#!/usr/bin/env node
// Files over 400 lines and functions over 80 lines in src/ (issue 10's size rule), found with the TypeScript
// parser. Prints one line per offender and exits 1 when there is any; test/architecture/sizes.test.ts runs it.
//   node scripts/check-sizes.mjs [--max-file 400] [--max-function 80]
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('..', import.meta.url).pathname);
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const MAX_FILE = arg('--max-file', 400);
const MAX_FUNCTION = arg('--max-function', 80);

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

function functionName(node) {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) return parent.name.getText();
  return '(anonymous)';
}

const offenders = [];
for (const file of tsFiles(join(root, 'src'))) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_FILE) offenders.push(`${rel}: ${lines} lines (file limit ${MAX_FILE})`);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      const n = end - start + 1;
      if (n > MAX_FUNCTION) offenders.push(`${rel}:${start + 1}: ${functionName(node)} is ${n} lines (function limit ${MAX_FUNCTION})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
for (const o of offenders) console.log(o);
process.exitCode = offenders.length ? 1 : 0;
