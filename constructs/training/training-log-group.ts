import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { TRAINING_LOG_GROUP } from './sagemaker-execution-role';

/** Properties of a {@link TrainingLogGroup}. */
export interface TrainingLogGroupProps {
  /**
   * Key that encrypts the group (its policy must let CloudWatch Logs use it).
   * @default - CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * How long training logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly retention?: logs.RetentionDays;
}

/**
 * SageMaker's training log group, `/aws/sagemaker/TrainingJobs`, created by the app: encrypted, with retention,
 * kept on delete. SageMaker writes every training job of the account and region there
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html) and creates it itself, unencrypted
 * and kept forever, at the first job. Its name cannot change, so CloudFormation can create it only where it
 * does not exist yet: in an account that ever trained in the region, or after this stack was deleted (the
 * group stays), leave this out or bring the group in with `cdk import`.
 */
export class TrainingLogGroup extends Construct {
  /** The log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrainingLogGroupProps = {}) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: TRAINING_LOG_GROUP,
      encryptionKey: props.encryptionKey,
      retention: props.retention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
