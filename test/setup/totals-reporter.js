// Writes jest's totals as the plain line CI reads ("N passed, N failed") to .data/test-totals.txt.
const fs = require('node:fs');
const path = require('node:path');

class TotalsReporter {
  onRunComplete(_contexts, results) {
    const line =
      `${results.numPassedTests} passed, ${results.numFailedTests} failed` +
      (results.numPendingTests ? `, ${results.numPendingTests} skipped` : '');
    const dir = path.resolve(__dirname, '..', '..', '.data');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'test-totals.txt'), line + '\n');
  }
}
module.exports = TotalsReporter;
