/**
 * The retraining pipeline's state machine as `cdk deploy` would create it, for `npm run local -- --retrain`: the app
 * built in this process with the settings local mode read (cdk.json and -c, as bin/app.ts builds it), its stacks
 * evaluated as one deployment (cfn-evaluator.ts), the definition checked by asl-validator. Lambda bundling is skipped:
 * the definition names the functions, it does not contain them.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { PipelineConfig } from '../../constructs/training/runtime/retraining-contract';
import { loadConfig } from '../../lib/config';
import { buildPlatform } from '../../lib/platform';
import type { LocalConfig } from '../local-config';
import { aslProblems, Definition, definitionOf, deploymentOf, stateMachineWith } from './state-machine-runner';

/** A state only the retraining pipeline has: it picks that state machine out of the Training stack. */
const RETRAINING_STATE = 'Fingerprint';

export interface RetrainingDefinition {
  readonly definition: Definition;
  /** The configuration its first state (Configure) carries: the deploy's job specs, identities and gate. */
  readonly config: PipelineConfig;
  /** Where it comes from: `<stack>/<logical id>`. */
  readonly source: string;
}

/** Synthesizes the app and returns the retraining state machine's definition; invalid ASL is an error. */
export function retrainingDefinition(local: LocalConfig): RetrainingDefinition {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-synth-'));
  try {
    const app = new App({ context: { ...local.given, [cxapi.BUNDLING_STACKS]: [] }, outdir });
    const platform = buildPlatform(app, loadConfig(app.node));
    const stacks = Object.values(platform).filter((s): s is Stack => s instanceof Stack);
    const training = deploymentOf(stacks).stack(platform.training.stackName);
    const definition = definitionOf(training, RETRAINING_STATE);
    const problems = aslProblems(definition);
    if (problems.length > 0) throw new Error(`the retraining state machine is not valid ASL: ${problems.join('; ')}`);
    const config = (definition.States.Configure?.Parameters as { config?: PipelineConfig } | undefined)?.config;
    if (!config) throw new Error('the retraining state machine has no Configure state carrying its configuration');
    return { definition, config, source: `${platform.training.stackName}/${stateMachineWith(training.template, RETRAINING_STATE)}` };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
