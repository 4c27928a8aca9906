#!/usr/bin/env node
/**
 * The dm-flow-relay command. Runs the compiled CLI when a build made one, else the TypeScript
 * source through tsx, which `npm ci` installs with the dev dependencies.
 */
/* global require, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports */
const fs = require("node:fs");
const path = require("node:path");

const compiled = path.join(__dirname, "..", "dist", "cli", "index.js");
if (!fs.existsSync(compiled)) require("tsx/cjs/api").register();
const cli = require(
  fs.existsSync(compiled) ? compiled : path.join(__dirname, "..", "cli", "index.ts"),
);
cli.main(process.argv);
