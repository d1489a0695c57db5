#!/usr/bin/env node
// The sm8qbo command (npx sm8qbo --help): runs client/cli.ts through tsx, like the rest of the product.
require('tsx/cjs');
require('../client/cli.ts').runFromProcess();
