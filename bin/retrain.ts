#!/usr/bin/env node
/**
 * `npm run retrain [-- --stack-prefix P | --state-machine-arn ARN]`: starts a run of the retraining pipeline
 * (constructs/training/retraining-pipeline.ts) with your AWS credentials, as
 * `aws stepfunctions start-execution --state-machine-arn <RetrainingPipelineArn> --input '{"trigger":"manual"}'` does.
 * Exit code 0: started; 1: it could not start (the reason on stderr).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as fs from 'fs';
import * as path from 'path';

const USAGE = `Usage: npm run retrain [-- [--stack-prefix DlPlatform] [--state-machine-arn ARN]]

Starts one run of the retraining pipeline: prepare, train, evaluate, gate, register, with the deploy's jobs and
settings. A run whose data, image and settings match a registered version ends early and names it; a run that
finds another in progress ends at once. The state machine is the RetrainingPipelineArn output of the
<stack prefix>-Training stack (the prefix: --stack-prefix, else cdk.json's stackPrefix, else DlPlatform).`;

export interface RetrainArguments {
  readonly stackPrefix: string;
  readonly stateMachineArn?: string;
}

/** The arguments, or a usage error. */
export function parseRetrainArguments(
  argv: readonly string[],
  defaultPrefix: string,
): RetrainArguments | { error: string } | { help: true } {
  let stackPrefix = defaultPrefix;
  let stateMachineArn: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '--stack-prefix' || arg === '--state-machine-arn') {
      if (!value || value.startsWith('--')) return { error: `${arg} needs a value` };
      if (arg === '--stack-prefix') stackPrefix = value;
      else if (/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/.test(value)) stateMachineArn = value;
      else return { error: `--state-machine-arn needs a Step Functions state machine ARN, got ${JSON.stringify(value)}` };
      i++;
    } else {
      return { error: `unknown argument ${JSON.stringify(arg)}` };
    }
  }
  return { stackPrefix, stateMachineArn };
}

/** The state machine ARN: given, or the Training stack's RetrainingPipelineArn output. */
export async function pipelineArn(args: RetrainArguments, cloudformation: CloudFormationClient): Promise<string> {
  if (args.stateMachineArn) return args.stateMachineArn;
  const stackName = `${args.stackPrefix}-Training`;
  const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  const arn = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'RetrainingPipelineArn')?.OutputValue;
  if (!arn) throw new Error(`Stack ${stackName} has no RetrainingPipelineArn output: deploy it first (npx cdk deploy ${stackName})`);
  return arn;
}

/** Starts a run; returns its execution ARN. */
export async function startRetraining(stateMachineArn: string, sfn: SFNClient): Promise<string> {
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ trigger: 'manual' }) }));
  return started.executionArn!;
}

function cdkJsonPrefix(): string {
  try {
    const cdk = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as { context?: { stackPrefix?: string } };
    return cdk.context?.stackPrefix ?? 'DlPlatform';
  } catch {
    return 'DlPlatform';
  }
}

async function main(): Promise<number> {
  const args = parseRetrainArguments(process.argv.slice(2), cdkJsonPrefix());
  if ('help' in args) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in args) {
    console.error(`${args.error}\n\n${USAGE}`);
    return 1;
  }
  const arn = await pipelineArn(args, new CloudFormationClient({}));
  const execution = await startRetraining(arn, new SFNClient({}));
  console.log(`Started retraining run ${execution}`);
  console.log(`Follow it: aws stepfunctions describe-execution --execution-arn ${execution}`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`Could not start a retraining run: ${e.message}`);
      process.exit(1);
    },
  );
}
