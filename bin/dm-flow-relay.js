#!/usr/bin/env node
/**
 * The dm-flow-relay command: runs the CLI's TypeScript source through tsx, which `npm ci` installs
 * with the dev dependencies. Installed on a PATH with `npm link` (or `npm install -g .`) from a
 * clone, the command is a symlink to this file; Node follows it, so tsx and cli/ are found in the
 * clone. There is no compiled copy to go stale: `dist/` is the function app's package only.
 */
/* global require, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports */
const path = require("node:path");

const root = path.join(__dirname, "..");
let tsx;
try {
  tsx = require("tsx/cjs/api");
} catch {
  process.stderr.write(`dm-flow-relay: tsx is not installed: run npm ci in ${root}\n`);
  process.exit(1);
}
tsx.register();
require(path.join(root, "cli", "index.ts")).main(process.argv);
