import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of a {@link LogsKey}. */
export interface LogsKeyProps {
  /**
   * What the key is for, shown in KMS.
   * @default 'Encrypts CloudWatch log groups'
   */
  readonly description?: string;
}

/**
 * A customer-managed KMS key (rotation on, retained) that CloudWatch Logs may use for this account's log
 * groups in this region, and nothing else: the key policy names the regional Logs service and pins the
 * encryption context to log groups of this account.
 */
export class LogsKey extends kms.Key {
  constructor(scope: Construct, id: string, props: LogsKeyProps = {}) {
    super(scope, id, {
      description: props.description ?? 'Encrypts CloudWatch log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptsThisAccountsLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
        },
      }),
    );
  }
}
