import { ArnFormat, Stack } from 'aws-cdk-lib';

/** One statement of a SageMaker job role's log and metric grants, with why its resource is as wide as it is. */
export interface JobRoleStatement {
  readonly actions: string[];
  readonly resources: string[];
  /** Why the resource holds a wildcard (for the cdk-nag acknowledgement); undefined: it holds none. */
  readonly reason?: string;
  readonly conditions?: Record<string, Record<string, unknown>>;
}

/**
 * What a SageMaker job's execution role needs to log and report metrics, where SageMaker writes them:
 * `group` (e.g. /aws/sagemaker/TrainingJobs, one per account and region) with one stream per host named
 * `<job name>/algo-<n>-<time>`, and instance metrics in the namespace of the same name
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
 *
 * `logs:CreateLogGroup` is granted on that one group whether or not it exists: AWS's execution-role policies list it
 * for every job (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html) and do not say whether
 * SageMaker calls it when the group is already there, so the role may create that group and no other. It names the
 * group both as the Service Authorization Reference writes a log group (`log-group:<name>`) and as the other log
 * actions match it (`log-group:<name>:*`), so either way IAM evaluates the call, it is allowed.
 */
export function jobLogStatements(stack: Stack, group: string, jobs: string, kind: 'training' | 'processing'): JobRoleStatement[] {
  const arn = (resourceName: string) =>
    stack.formatArn({ service: 'logs', resource: 'log-group', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const groupArn = arn(group);
  const groupActionsArn = arn(`${group}:*`);
  return [
    { actions: ['logs:CreateLogGroup'], resources: [groupArn, groupActionsArn] },
    {
      actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams'],
      resources: [groupActionsArn],
      reason: `SageMaker's own ${kind} log group, shared by the account; its ARN for these actions ends in :*.`,
    },
    {
      actions: ['logs:PutLogEvents'],
      resources: [arn(`${group}:log-stream:${jobs}`)],
      reason: `Log events only to the streams of these ${kind} jobs, which SageMaker names <job name>/algo-<n>-<time>.`,
    },
    // PutMetricData supports no resource scope; the namespace condition keeps it to SageMaker's instance metrics.
    { actions: ['cloudwatch:PutMetricData'], resources: ['*'], conditions: { StringEquals: { 'cloudwatch:namespace': group } } },
  ];
}
