#!/usr/bin/env node
// The `sluice` command: registers tsx so the TypeScript sources run as they are (no build step).
'use strict';

// The AWS SDK warns on every run that future versions will need Node 22; users of this command
// cannot act on that, so it is dropped (every other warning is kept).
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = warning instanceof Error ? warning.message : String(warning);
  if (text.startsWith('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};

require('tsx/cjs');
require('./main.ts').run();
