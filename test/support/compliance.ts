/**
 * The compliance checks `npm test` runs over the whole app: cdk-nag's four rule packs (as bin/app.ts registers
 * them) and checkov over every synthesized template.
 */
import { App } from 'aws-cdk-lib';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { NAG_PACKS } from '../../lib/nag-packs';

const ROOT = path.join(__dirname, '..', '..');
/** checkov lives in its own environment (scripts/requirements-checkov.txt; scripts/ensure-python.sh installs it). */
export const CHECKOV = path.join(ROOT, '.venv', 'checkov', 'bin', 'checkov');

/** Unacknowledged findings of one cdk-nag pack over `app`, as "rule at construct path" lines (empty when clean). */
export function packFindings(app: App, packName: string): string[] {
  const pack = NAG_PACKS().find((p) => p.readPackName === packName);
  if (!pack)
    throw new Error(
      `No cdk-nag pack named ${packName}; bin/app.ts registers ${NAG_PACKS()
        .map((p) => p.readPackName)
        .join(', ')}`,
    );
  const report = pack.validateScope(app);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

/** One failed checkov check. */
export interface CheckovFailure {
  readonly checkId: string;
  readonly resource: string;
  readonly file: string;
  readonly name: string;
}

/** What checkov reports for a set of templates. */
export interface CheckovReport {
  readonly passed: number;
  readonly failed: CheckovFailure[];
  readonly skipped: { checkId: string; resource: string; comment: string }[];
  readonly parsingErrors: number;
}

/**
 * Runs checkov (`--framework cloudformation`) over the given templates. `--skip-download` keeps it offline
 * (it would otherwise fetch guideline links from Prisma Cloud); it exits 1 when a check fails, so the JSON
 * report is read either way.
 */
export function runCheckov(templates: string[]): CheckovReport {
  if (!fs.existsSync(CHECKOV)) throw new Error(`checkov is not installed at ${CHECKOV}: run bash scripts/ensure-python.sh`);
  let out: string;
  try {
    out = execFileSync(
      CHECKOV,
      [
        '--framework',
        'cloudformation',
        '--skip-download',
        '--output',
        'json',
        '--quiet',
        '--compact',
        ...templates.flatMap((t) => ['--file', t]),
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (e) {
    const err = e as { stdout?: string; status?: number; stderr?: string };
    if (err.status !== 1 || !err.stdout) throw new Error(`checkov failed (exit ${err.status}): ${err.stderr ?? e}`);
    out = err.stdout;
  }
  const parsed = JSON.parse(out);
  const reports: Array<{ summary: { passed: number; parsing_errors: number }; results: Record<string, Array<Record<string, unknown>>> }> =
    Array.isArray(parsed) ? parsed : [parsed];
  const report: CheckovReport = { passed: 0, failed: [], skipped: [], parsingErrors: 0 };
  for (const r of reports) {
    (report as { passed: number }).passed += r.summary.passed;
    (report as { parsingErrors: number }).parsingErrors += r.summary.parsing_errors;
    for (const f of r.results.failed_checks ?? []) {
      report.failed.push({
        checkId: String(f.check_id),
        resource: String(f.resource),
        file: path.basename(String(f.file_path)),
        name: String(f.check_name),
      });
    }
    for (const s of r.results.skipped_checks ?? []) {
      const suppress = (s.check_result as { suppress_comment?: string } | undefined)?.suppress_comment ?? '';
      report.skipped.push({ checkId: String(s.check_id), resource: String(s.resource), comment: suppress });
    }
  }
  return report;
}

/** The `*.template.json` files of a cloud assembly directory. */
export function templatesIn(outdir: string): string[] {
  return fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => path.join(outdir, f));
}
