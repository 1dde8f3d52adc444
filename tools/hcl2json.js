#!/usr/bin/env node
// hcl2json.js FILE...: parses each HCL (Terraform) file with @cdktf/hcl2json (HashiCorp's HCL
// parser compiled to WebAssembly) and prints {"<file>": <parsed JSON>, ...} on stdout.
// Exits 1 with "<file>: <error>" on stderr for the first file that does not parse.
"use strict";
const fs = require("node:fs");
const { parse } = require("@cdktf/hcl2json");

(async () => {
  const out = {};
  for (const file of process.argv.slice(2)) {
    try {
      out[file] = await parse(file, fs.readFileSync(file, "utf8"));
    } catch (e) {
      process.stderr.write(`${file}: ${e && e.message ? e.message : e}\n`);
      process.exit(1);
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
