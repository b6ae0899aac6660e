/** Step: `prepare` on --data or the bundled raw digits, with the configured prepare* settings (as the deploy's job). */
import * as path from 'path';

import { prepareEnvironment } from '../../lib/image-settings';
import { prepareData, PreparedData, RAW_DIGITS } from '../prepare-data';
import { LocalModeError, LocalRun } from './run';

/**
 * Prepares --data (or the bundled digits) with `jobSettings`, the prepare job's environment when a retrain runs the
 * synthesized pipeline, else the configured prepare* settings.
 */
export async function prepare(run: LocalRun, jobSettings?: Record<string, string>): Promise<PreparedData> {
  const { options, local, progress } = run;
  const input = options.data ?? RAW_DIGITS;
  const settings = { ...(jobSettings ?? prepareEnvironment(local.config)) };
  // The digits are images: a pixel that happens to be blank in every training image still has its place,
  // unless the configuration says otherwise.
  if (!options.data && !jobSettings && local.given.prepareConstantColumns === undefined) settings.PREPARE_CONSTANT_COLUMNS = 'keep';
  progress.step(`Preparing ${path.relative(process.cwd(), input) || input} (training-image \`prepare\`: clean, split, report)...`);
  if (Object.keys(settings).length)
    progress.detail(
      `settings: ${Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  let prepared: PreparedData;
  try {
    prepared = await prepareData({
      input,
      settings,
      cacheDir: path.join(options.workDir, 'prepared'),
      // Its summary lines; not the line naming its temporary output folder (the report's final path follows).
      onOutput: (line) => {
        if (options.verbose || !/ INFO |^prepared data written to /.test(line)) progress.detail(`prepare | ${line}`);
      },
    });
  } catch (e) {
    throw new LocalModeError(`prepare failed: ${(e as Error).message.split('\n')[0]}`);
  }
  if (prepared.cached) progress.detail('same data and settings as an earlier run: reusing its output');
  progress.detail(`report: ${path.join(prepared.reportDir, 'data-report.html')}`);
  progress.done(`prepared (data sha256 ${prepared.dataHash.slice(0, 16)}...)`);
  return prepared;
}
