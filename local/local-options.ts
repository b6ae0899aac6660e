/**
 * The command line of `npm run local` (bin/local.ts): flags, their environment-variable fallbacks, the usage
 * text, and validation with one-line errors.
 */
import * as path from 'path';
import { parseArgs } from 'util';

import { settingOfPrepareVariable } from '../lib/image-settings';
import { REPO_ROOT } from './train-model';

export interface LocalOptions {
  /**
   * Port of the local API on 127.0.0.1; 0 picks a free one.
   * @default 3000 (or LOCAL_PORT)
   */
  readonly port: number;
  /**
   * Folder for the model cache (models/) and the runs' temporary files.
   * @default <repo>/.local (or LOCAL_WORK_DIR)
   */
  readonly workDir: string;
  /**
   * Raw data to prepare and train on: a CSV file with a header and a label column, a folder of such files, or
   * a folder with train/, validation/ and test/ (your own split).
   * @default - training-image/sample-data/raw/digits.csv, the digits with gaps and repeated rows
   */
  readonly data?: string;
  /**
   * The label column of --data: the `prepareLabelColumn` setting (as `-c prepareLabelColumn=<name>`), the one
   * cdk deploy reads from cdk.json.
   * @default - cdk.json's prepareLabelColumn, else the image's default `label`
   */
  readonly label?: string;
  /**
   * Serve this trained model folder (model.pt and metadata.json) instead of training.
   * @default - train one
   */
  readonly modelDir?: string;
  /**
   * Use the cached model for the same sources, data and hyperparameters when there is one.
   * @default false - train again, showing the epochs
   */
  readonly reuse: boolean;
  /**
   * Overrides the `epochs` hyperparameter (a quick run).
   * @default - the configured hyperparameters (cdk.json), else the image's default
   */
  readonly epochs?: number;
  /**
   * Which sample row to send: one of the test split's rows in prepare's sample-requests.json (0 to 9), or with
   * --model-dir a row of training-image/sample-data/test.csv.
   * @default 0
   */
  readonly sample: number;
  /**
   * Exit after the sample prediction instead of serving until Ctrl-C.
   * @default false
   */
  readonly once: boolean;
  /**
   * Also show the training's other output and the model server's log.
   * @default false
   */
  readonly verbose: boolean;
  /**
   * Settings over cdk.json's, as `cdk deploy -c key=value` takes them (`-c` or `--context`, repeatable).
   * @default {} - cdk.json's settings
   */
  readonly context: Record<string, string>;
  /**
   * Check the captured traffic (`<work dir>/capture/`) for drift against the served model instead of serving.
   * @default false
   */
  readonly drift: boolean;
  /**
   * With --drift: first inference time in the window (ISO-8601).
   * @default - no bound
   */
  readonly driftSince?: string;
  /**
   * With --drift: end of the window, exclusive (ISO-8601).
   * @default - no bound
   */
  readonly driftUntil?: string;
  /**
   * Retrain on --data while serving: the synthesized retraining pipeline's state machine run locally, the new
   * version gated and registered, and the running server moved to it blue/green (local/retrain/).
   * @default false
   */
  readonly retrain: boolean;
  /** Print the usage and exit. */
  readonly help: boolean;
}

export const USAGE = `Usage: npm run local -- [options]     (or: npx tsx bin/local.ts [options])

Prepares raw CSV data (clean, split, report), trains and evaluates a model on it with the real training-image
code, gates it and registers it in a local registry, starts the real model server, the SageMaker Runtime
stand-in and the real API proxy handler behind a local API Gateway front on 127.0.0.1, sends one sample
prediction and keeps serving until Ctrl-C. No AWS account needed. It reads the settings cdk deploy reads
(cdk.json, and -c key=value over it): the prepare* settings, hyperparameters and the quality gate.

Options:
  --port <n>         port of the local API; 0 picks a free one       (default 3000, env LOCAL_PORT)
  --data <path>      raw CSV file or folder to prepare and train on (default: the bundled
                     training-image/sample-data/raw/digits.csv, with gaps and repeated rows)
  --label <column>   the label column of --data (the prepareLabelColumn setting; default
                     cdk.json's, else "label")
  --once             exit after the sample prediction (for CI)
  --reuse            reuse the cached model for the same inputs instead of training again
  --model-dir <dir>  serve this trained model folder (model.pt, metadata.json); no training
  --epochs <n>       override the epochs hyperparameter for a quick run
  --sample <row>     which raw test row of the prepared data to send, 0 to 9 (default 0)
  --work-dir <dir>   model cache and temporary files (default .local, env LOCAL_WORK_DIR)
  -c, --context <key=value>
                     a setting over cdk.json's, as for cdk deploy (repeatable),
                     e.g. -c prepareMissingValues=drop
  --verbose          also show the trainer's other output and the model server's log
  --retrain          with --data: serve the newest approved version (if any), run the retraining
                     pipeline's state machine (synthesized from this app) on the new data with the local
                     steps, register version n+1 through the same gate and, when Approved, move the
                     running server to it blue/green without dropping requests (docs/retraining.md).
                     Rejected: the old version keeps serving, exit 1; same data: ends as Unchanged
  --drift            check the traffic captured in <work dir>/capture/ for drift against the newest
                     approved model (or --model-dir) with the image's monitor; prints the report's path
  --drift-since <time>, --drift-until <time>
                     with --drift: only requests answered from/before this ISO-8601 time
  -h, --help         show this help

Every request the local API answers is captured in <work dir>/capture/, as an endpoint with data capture
writes it (docs/drift.md); the files hold the requests' data and stay on this machine.
`;

/** A command-line mistake: the runner prints the message and the usage hint, and exits 2. */
export class UsageError extends Error {}

/** Parses `argv` (without node and the script), falling back to the environment for port and work dir. */
export function parseLocalOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LocalOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string' },
        once: { type: 'boolean', default: false },
        reuse: { type: 'boolean', default: false },
        'model-dir': { type: 'string' },
        data: { type: 'string' },
        label: { type: 'string' },
        epochs: { type: 'string' },
        sample: { type: 'string' },
        'work-dir': { type: 'string' },
        verbose: { type: 'boolean', default: false },
        context: { type: 'string', short: 'c', multiple: true },
        drift: { type: 'boolean', default: false },
        'drift-since': { type: 'string' },
        'drift-until': { type: 'string' },
        retrain: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.reuse && values['model-dir'] !== undefined) throw new UsageError('--reuse and --model-dir exclude each other');
  if (values.data !== undefined && values['model-dir'] !== undefined)
    throw new UsageError('--data and --model-dir exclude each other (--model-dir serves a trained model)');
  if (values.epochs !== undefined && values['model-dir'] !== undefined)
    throw new UsageError('--epochs has no effect with --model-dir (nothing is trained)');
  if ((values['drift-since'] !== undefined || values['drift-until'] !== undefined) && !values.drift)
    throw new UsageError('--drift-since and --drift-until go with --drift');
  if (values.drift && (values.data !== undefined || values.epochs !== undefined || values.reuse || values.label !== undefined))
    throw new UsageError('--drift checks captured traffic: it takes no --data, --label, --epochs or --reuse');
  if (values.retrain) {
    if (values.data === undefined) throw new UsageError('--retrain needs --data <the new raw CSV file or folder>');
    if (values.drift) throw new UsageError('--retrain and --drift exclude each other');
    if (values.reuse) throw new UsageError('--retrain reuses what the pipeline reuses (a model of the same inputs); it takes no --reuse');
  }
  for (const flag of ['drift-since', 'drift-until'] as const) {
    const value = values[flag];
    if (value !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value))))
      throw new UsageError(`--${flag} must be an ISO-8601 time such as 2026-03-01T13:00:00Z, got "${value}"`);
  }
  refusePrepareVariables(env);
  const context = Object.fromEntries((values.context ?? []).map(setting));
  if (values.label !== undefined) {
    if (values['model-dir'] !== undefined) throw new UsageError('--label has no effect with --model-dir (nothing is prepared)');
    if (context.prepareLabelColumn !== undefined && context.prepareLabelColumn !== values.label) {
      throw new UsageError(
        `--label ${values.label} and -c prepareLabelColumn=${context.prepareLabelColumn} disagree; --label sets that setting, give one`,
      );
    }
    context.prepareLabelColumn = values.label;
  }
  return {
    port: whole('--port', values.port ?? env.LOCAL_PORT ?? '3000', 0, 65535),
    workDir: path.resolve(values['work-dir'] ?? env.LOCAL_WORK_DIR ?? path.join(REPO_ROOT, '.local')),
    modelDir: values['model-dir'] === undefined ? undefined : path.resolve(values['model-dir']),
    data: values.data === undefined ? undefined : path.resolve(values.data),
    label: values.label,
    reuse: values.reuse,
    epochs: values.epochs === undefined ? undefined : whole('--epochs', values.epochs, 1, 10000),
    sample: values.sample === undefined ? 0 : whole('--sample', values.sample, 0, Number.MAX_SAFE_INTEGER),
    once: values.once,
    verbose: values.verbose,
    context,
    drift: values.drift,
    driftSince: values['drift-since'],
    driftUntil: values['drift-until'],
    retrain: values.retrain,
    help: values.help,
  };
}

/** `key=value` of `-c`, as the CDK CLI takes it. */
function setting(raw: string): [string, string] {
  const match = /^([A-Za-z][\w:.-]*)=(.*)$/s.exec(raw);
  if (!match) throw new UsageError(`-c takes key=value (a setting of lib/config.ts), got "${raw}"`);
  return [match[1], match[2]];
}

/**
 * PREPARE_* variables in the shell used to set prepare's policy here but not for the deploy: local mode now
 * reads the prepare* settings as the deploy does, so a variable set out of habit is refused, not ignored.
 */
function refusePrepareVariables(env: NodeJS.ProcessEnv): void {
  const found = Object.keys(env)
    .filter((k) => k.startsWith('PREPARE_'))
    .sort();
  if (found.length === 0) return;
  const instead = found.map((v) => {
    const name = settingOfPrepareVariable(v);
    return name ? `-c ${name}=${env[v]}` : `(${v} is no setting; see the prepare* settings)`;
  });
  throw new UsageError(
    `${found.join(', ')} set in the environment: local mode reads prepare's settings as cdk deploy does, from cdk.json ` +
      `and -c; unset ${found.length > 1 ? 'them' : 'it'} and pass ${instead.join(' ')}`,
  );
}

function whole(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}
