// solc-js behind solc's command-line interface, without the banner solcjs prints on stdout.
//   node solcjs_compile.js [SOLC_MODULE] --version        prints "Version: <long version>"
//   node solcjs_compile.js [SOLC_MODULE] --standard-json  standard JSON in on stdin, out on stdout
// SOLC_MODULE defaults to the `solc` package resolved from this script's folder.
// collective/compiler.py runs this same text with `node -e`; keep the two identical.
'use strict';
const args = process.argv.slice(require.main === module ? 2 : 1);
const solc = require(args.find((arg) => !arg.startsWith('--')) || 'solc');
if (args.includes('--version')) {
  process.stdout.write('solc-js, the solidity compiler\nVersion: ' + solc.version() + '\n');
} else if (args.includes('--standard-json')) {
  process.stdout.write(solc.compile(require('fs').readFileSync(0, 'utf8')));
} else {
  process.stderr.write('usage: solcjs_compile.js [SOLC_MODULE] --version | --standard-json\n');
  process.exitCode = 2;
}
