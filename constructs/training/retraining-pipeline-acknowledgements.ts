import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

import { acknowledge, acknowledgeRolePolicies, exemptFunction, inPacks, SERVERLESS } from '../private/compliance';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import type { RunInput, RunInputRead } from './retraining-job-access';

/** What of a RetrainingPipeline (retraining-pipeline.ts) its acknowledgements name. */
export interface RetrainingPipelineParts extends Construct {
  readonly functions: lambda.IFunction[];
}

/** The cdk-nag findings and checkov checks a RetrainingPipeline accepts, with why. */
export function acknowledgeRetrainingPipeline(pipeline: RetrainingPipelineParts): void {
  for (const fn of pipeline.functions) {
    exemptFunction(fn, {
      deadLetterQueue:
        'Invoked synchronously by the state machine, which retries it and fails the run with its error ' +
        '(the failed-run alarm raises the incident); a dead-letter queue would hold nothing anyone acts on.',
      vpc: 'Calls only the S3, SageMaker and Step Functions APIs, over TLS with IAM; the platform has no VPC.',
      reservedConcurrency: 'One run at a time invokes it a few times; a reservation would take concurrency from the account for good.',
      tracing: "The state machine is traced with X-Ray and logs every step's input and output; the function logs each decision as JSON.",
    });
  }
  // Every rule of the pipeline (new data, alarms): a start it could not deliver is one run that did not start.
  acknowledge(
    pipeline,
    inPacks('EventBusDLQ', SERVERLESS),
    'A trigger EventBridge could not deliver after its retries (24 hours) is a run that did not start, not lost data: the ' +
      'data stays in S3, the next marker, schedule tick or `npm run retrain` trains on it, and a run is idempotent. A ' +
      'dead-letter queue would hold nothing to replay that a new start does not do.',
  );
  acknowledgeRolePolicies(pipeline);
}

/** Why each job role's read of a pipeline run's inputs (retraining-job-access.ts) names its objects with a wildcard. */
const RUN_INPUT_REASONS: Record<RunInput, string> = {
  'prepared-data':
    "A retraining run's training job reads the data its own prepare job wrote, prepared/<prepare job name>/data/, named " +
    "when the run starts (a hash of the raw data): read-only, and only the data folders of this platform's prepare jobs.",
  'test-rows':
    "A retraining run's evaluate job reads the raw test rows its prepare job wrote, prepared/<prepare job name>/report/test-rows.csv, " +
    "named when the run starts: read-only, and only that one file of this platform's prepare jobs.",
  model:
    "A retraining run's evaluate job reads the model its training job wrote, models/<training job name>/output/model.tar.gz, " +
    "named when the run starts (a hash of the prepared data): read-only, and only the artifacts of this platform's training jobs.",
};

/** The AwsSolutions-IAM5 findings of the job roles' reads of a run's inputs, with why each wildcard is as narrow as it can be. */
export function acknowledgeRunInputReads(reads: RunInputRead[]): void {
  for (const read of reads) acknowledgeWildcardResource(read.role, read.objects, RUN_INPUT_REASONS[read.input]);
}
