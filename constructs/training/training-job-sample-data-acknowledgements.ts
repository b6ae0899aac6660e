import { IConstruct } from 'constructs';

import { acknowledge, acknowledgeRolePolicies, AWS_SOLUTIONS, exemptFunction, inPacks } from '../private/compliance';

/**
 * The cdk-nag findings and checkov checks a {@link SampleDataUpload} accepts, with why. `handler` is
 * BucketDeployment's upload function, which aws-cdk-lib creates and configures.
 */
export function acknowledgeSampleDataUpload(upload: IConstruct, handler: IConstruct): void {
  exemptFunction(handler, {
    deadLetterQueue:
      'CloudFormation invokes the function once per deploy and waits for its answer; a failure fails ' +
      'and rolls back the deploy, where it is seen. A dead-letter queue would hold nothing anyone acts on.',
    vpc:
      'The function copies the sample from the CDK asset bucket to the data bucket through the S3 API, over TLS ' +
      'with IAM; the platform has no VPC.',
    reservedConcurrency:
      'The function runs once per deploy, for seconds; a reservation would take concurrency from ' +
      'the account for good to guard a run that is never concurrent.',
    environmentKey: 'The environment holds only the path of the CA bundle (set by aws-cdk-lib), no secret.',
    tracing:
      "A deploy-time copy run by aws-cdk-lib's handler; its log group records each run, and CloudFormation " + 'reports the outcome.',
    latestRuntime: "aws-cdk-lib fixes the handler's Python runtime to match its bundled AWS CLI layer.",
  });
  acknowledge(
    handler,
    inPacks('L1', AWS_SOLUTIONS),
    "aws-cdk-lib fixes the BucketDeployment handler's Python runtime to match its bundled AWS CLI layer; it runs only during deploys.",
  );
  acknowledgeRolePolicies(upload);
}
