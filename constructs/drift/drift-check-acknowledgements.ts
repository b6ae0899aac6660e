import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

import { acknowledgeRolePolicies, exemptFunction, FunctionExemptions, UNRESERVED_CONCURRENCY } from '../private/compliance';
import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';

/** What a {@link DriftCheck} grants with a wildcard, for its acknowledgements. */
export interface DriftCheckGrants {
  /** The check: its roles' policies are each written for one role. */
  readonly check: IConstruct;
  readonly windowFunction: lambda.IFunction;
  readonly publishFunction: lambda.IFunction;
  readonly publishRole: iam.IRole;
  /** The check's report objects, `<report prefix><job name prefix>-*`. */
  readonly reports: string;
  readonly stateMachineRole: iam.IRole;
  readonly functions: lambda.IFunction[];
  /** The check's processing jobs, `processing-job/<job name prefix>-*`. */
  readonly jobs: string;
  /** Every version of the model package group. */
  readonly modelPackageVersions: string;
}

/** The cdk-nag findings a DriftCheck accepts, with why. */
export function acknowledgeDriftCheck(g: DriftCheckGrants): void {
  const steps: FunctionExemptions = {
    deadLetterQueue:
      "Invoked synchronously by the drift check's state machine, which retries Lambda's service errors; a failure " +
      'fails the run, which the drift-check-failed alarm reports. A dead-letter queue would hold nothing anyone acts on.',
    vpc: 'Calls only the S3 and CloudWatch APIs (or none), over TLS with IAM; the platform has no VPC.',
    reservedConcurrency: `${UNRESERVED_CONCURRENCY} It runs once per scheduled window.`,
    tracing:
      "A step of the drift check's state machine, which is traced; the function makes at most two calls (read the " +
      'report, publish its metrics) and logs what it published.',
  };
  exemptFunction(g.windowFunction, steps);
  exemptFunction(g.publishFunction, {
    ...steps,
    environmentKey:
      "The environment holds the metrics namespace and the report bucket's name and prefix, no secret; " +
      'Lambda encrypts it at rest with its own key.',
  });
  acknowledgeRolePolicies(g.check);
  acknowledgeWildcardResource(
    g.publishRole,
    '*',
    'cloudwatch:PutMetricData takes no resource; the statement is held to the drift namespace by ' +
      'the cloudwatch:namespace condition (test/support/wildcard-resources.ts says why it may name `*`).',
  );
  acknowledgeWildcardResource(
    g.publishRole,
    g.reports,
    'Each run writes its report under a job name made at run time ' +
      "(<job name prefix>-<window>-<attempt>); the function reads only this check's reports.",
  );
  acknowledgeWildcardResource(
    g.stateMachineRole,
    '*',
    'Step Functions log delivery (logs:CreateLogDelivery and the calls around it) and X-Ray (xray:PutTraceSegments) support no resource scope.',
  );
  for (const fn of g.functions) {
    acknowledgeWildcardResource(
      g.stateMachineRole,
      `${fn.functionArn}:*`,
      "aws-cdk-lib's LambdaInvoke task allows the function's versions and aliases (<function ARN>:*) beside the function: this function only.",
    );
  }
  acknowledgeWildcardResource(
    g.stateMachineRole,
    g.jobs,
    'Each run starts a job named at run time (<job name prefix>-<window>-<attempt>); ' +
      'the .sync integration creates, describes, stops and reads the tags of those jobs only.',
  );
  acknowledgeWildcardResource(
    g.stateMachineRole,
    g.modelPackageVersions,
    'Versions are numbered by SageMaker; the check describes the served ' +
      "one, which any approval or rollback may change, within the platform's model package group only.",
  );
}
