#!/usr/bin/env node
/**
 * Prints a scope's score and its surviving (and uncovered) mutants from the last run's
 * reports/mutation/<scope>/mutation.json: `node tools/mutation/survivors.mjs <scope> [file-substring]`.
 */
import { readFileSync } from 'node:fs';

const [scope, only = ''] = process.argv.slice(2);
if (!scope) {
  console.error('usage: node tools/mutation/survivors.mjs <scope> [file-substring]');
  process.exit(2);
}
const report = JSON.parse(readFileSync(`reports/mutation/${scope}/mutation.json`, 'utf8'));
const totals = {};
const lines = [];
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const text = source.split('\n');
  for (const m of mutants) {
    totals[m.status] = (totals[m.status] ?? 0) + 1;
    if ((m.status === 'Survived' || m.status === 'NoCoverage') && file.includes(only)) {
      const { line, column } = m.location.start;
      const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
      lines.push(`${m.status === 'Survived' ? 'S' : 'N'} ${file}:${line}:${column} ${m.mutatorName}: ${text[line - 1]?.trim().slice(0, 110)}\n      -> ${replacement}`);
    }
  }
}
const n = (s) => totals[s] ?? 0;
const detected = n('Killed') + n('Timeout');
const valid = detected + n('Survived') + n('NoCoverage');
console.log(lines.join('\n'));
console.log(`\n${scope}: ${n('Killed')} killed, ${n('Timeout')} timeouts, ${n('Survived')} survived, ${n('NoCoverage')} no coverage, ${n('CompileError')} compile errors, ${n('Ignored')} ignored`);
console.log(`score ${((100 * detected) / valid).toFixed(2)}% (killed + timeouts over all valid mutants); covered ${((100 * detected) / (detected + n('Survived'))).toFixed(2)}%`);
