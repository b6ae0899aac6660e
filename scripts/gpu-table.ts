/**
 * Prints docs/gpu.md's tables, the InferenceAmiVersion table and the GPU driver matrix, from the code
 * (constructs/gpu-driver-matrix.ts), so the two never disagree (a jest test compares them). `npm run docs:gpu`
 * rewrites them in docs/gpu.md.
 */
import * as fs from 'fs';
import * as path from 'path';

import { gpuDriverTable, inferenceAmiTable } from '../constructs/gpu-driver-matrix';

/** Replaces the text between `<!-- name:begin -->` and `<!-- name:end -->` with `table`. */
function withTable(doc: string, name: string, table: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const start = doc.indexOf(begin);
  const end = doc.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`docs/gpu.md lacks the ${begin} ... <!-- ${name}:end --> markers`);
  return `${doc.slice(0, start + begin.length)}\n${table}\n${doc.slice(end)}`;
}

/** docs/gpu.md's text with both tables replaced by the current ones. */
export function withCurrentGpuTables(doc: string): string {
  return withTable(withTable(doc, 'inference-amis', inferenceAmiTable()), 'gpu-matrix', gpuDriverTable());
}

if (require.main === module) {
  const file = path.join(__dirname, '..', 'docs', 'gpu.md');
  fs.writeFileSync(file, withCurrentGpuTables(fs.readFileSync(file, 'utf8')));
  console.log('docs/gpu.md: InferenceAmiVersion table and GPU driver matrix written');
}
