import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

import type { ProcessingJob } from './processing-job';
import { processingOutputPrefix } from './runtime/job-requests';
import { TEST_ROWS_FILE } from './runtime/retraining-contract';
import type { TrainingJob } from './training-job';

/** What a pipeline run's jobs read that the deploy's jobs do not: named by the jobs a run starts. */
export type RunInput = 'prepared-data' | 'test-rows' | 'model';

/** One read granted to a job role, for its acknowledgement (retraining-pipeline-acknowledgements.ts). */
export interface RunInputRead {
  readonly role: iam.IRole;
  readonly input: RunInput;
  /** The objects' ARN, with a wildcard for the job names a run decides. */
  readonly objects: string;
}

/**
 * The retraining pipeline runs new prepare, training and evaluate jobs with the deploy's job roles
 * (retraining-pipeline.ts), whose inputs name the run's own jobs: training reads `<prepared>/<new prepare job>/data/<channel>/`,
 * evaluate reads `<prepared>/<new prepare job>/report/test-rows.csv` and `<models>/<new training job>/output/model.tar.gz`.
 * Each role already reads the deploy's own inputs (sagemaker-execution-role.ts); this grants the same reads on the
 * objects of any job of this platform's prefix, no more: s3:GetObject on the objects, and s3:ListBucket (which
 * SageMaker calls for an S3Prefix input) held to the same keys by `s3:prefix`
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html for s3:prefix). The roles
 * already use the key these objects are encrypted with. The prepare job reads the same raw data as the deploy's.
 */
export function grantRunInputs(jobs: { prepareJob: ProcessingJob; trainingJob: TrainingJob; evaluateJob: ProcessingJob }): RunInputRead[] {
  const { prepareJob, trainingJob, evaluateJob } = jobs;
  const prepared = (output: string) => processingOutputPrefix(prepareJob.spec, `${prepareJob.identity.prefix}-*`, output);
  const reads: RunInputRead[] = [];
  const read = (role: iam.IRole, input: RunInput, bucket: string, key: string) => {
    const bucketArn = `arn:${Aws.PARTITION}:s3:::${bucket}`;
    const objects = `${bucketArn}/${key}`;
    iam.Grant.addToPrincipal({ grantee: role, actions: ['s3:GetObject'], resourceArns: [objects] });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['s3:ListBucket'],
      resourceArns: [bucketArn],
      conditions: { StringLike: { 's3:prefix': [key] } },
    });
    reads.push({ role, input, objects });
  };
  const data = prepareJob.spec.outputBucketName;
  read(trainingJob.role, 'prepared-data', data, `${prepared('data')}*`);
  read(evaluateJob.role, 'test-rows', data, `${prepared('report')}${TEST_ROWS_FILE}`);
  const model = `${trainingJob.spec.artifactPrefix}${trainingJob.identity.prefix}-*/output/model.tar.gz`;
  read(evaluateJob.role, 'model', trainingJob.spec.outputBucketName, model);
  return reads;
}
