import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';

import { acknowledgeRolePolicies, exemptFunction, FunctionExemptions } from '../private/compliance';

/** What of a ModelRegistry (model-registry.ts) its acknowledgements name; a shape, so the two files import one way. */
export interface ModelRegistryParts extends Construct {
  readonly functions: lambda.IFunction[];
  readonly provider: cr.Provider;
  readonly pointerRole: iam.IRole;
}

const DEPLOY_TIME: FunctionExemptions = {
  deadLetterQueue:
    'Invoked synchronously by CloudFormation (through the provider framework) once per deploy; a failure ' +
    "fails and rolls back the deploy with the registration's reason. A dead-letter queue would hold nothing anyone acts on.",
  vpc: 'Calls only the SageMaker, SSM and Lambda APIs, over TLS with IAM; the platform has no VPC.',
  reservedConcurrency:
    'Runs only while a deploy registers a model, one invocation at a time; a reservation would take ' +
    'concurrency from the account for good to guard runs that are never concurrent.',
};

/** The cdk-nag findings and checkov checks a ModelRegistry accepts, with why. */
export function acknowledgeModelRegistry(registry: ModelRegistryParts): void {
  for (const fn of registry.functions) {
    exemptFunction(fn, {
      ...DEPLOY_TIME,
      tracing:
        'Each registration logs its gate verdict and version as JSON; its calls are a few SageMaker reads and one ' +
        'CreateModelPackage, so a trace would add nothing the log does not say.',
    });
  }
  // The provider framework's relay function: aws-cdk-lib's, found by type.
  for (const fn of registry.provider.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function)) {
    exemptFunction(fn, {
      ...DEPLOY_TIME,
      environmentKey: "The environment holds the handler function's ARN (set by aws-cdk-lib's provider framework), no secret.",
      tracing: "aws-cdk-lib's provider framework function, which only relays to the handler (whose log records every call).",
      defaultMemory: "aws-cdk-lib's provider framework sizes its relay function; it only passes events on.",
    });
  }
  // AwsCustomResource's singleton function lives at the stack's root (aws-cdk-lib's): found by type and by the
  // role this registry gave it, never by its construct id.
  const stack = Stack.of(registry);
  for (const fn of stack.node
    .findAll()
    .filter((c): c is lambda.Function => c instanceof lambda.Function && c.role === registry.pointerRole)) {
    exemptFunction(fn, {
      ...DEPLOY_TIME,
      tracing:
        "aws-cdk-lib's AwsCustomResource function makes one ssm:PutParameter call per deploy and logs it; a trace would add nothing.",
      defaultMemory: "aws-cdk-lib's AwsCustomResource sizes its function; it makes one API call.",
    });
  }
  acknowledgeRolePolicies(registry);
}
