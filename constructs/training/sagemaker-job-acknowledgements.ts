import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';

import {
  acknowledge,
  acknowledgeRolePolicies,
  AWS_SOLUTIONS,
  exemptFunction,
  FunctionExemptions,
  inPacks,
  SERVERLESS,
} from '../private/compliance';

/** A SageMaker job construct on the shared provider (sagemaker-job-provider.ts): TrainingJob, ProcessingJob. */
export interface SageMakerJobConstruct extends Construct {
  readonly functions: lambda.IFunction[];
  readonly provider: cr.Provider;
}

const DEPLOY_TIME: FunctionExemptions = {
  deadLetterQueue:
    'Invoked synchronously by the provider framework (or by CloudFormation, which waits for the answer) ' +
    "once per deploy; a failure fails and rolls back the deploy with the job's reason. A dead-letter queue would hold " +
    'nothing anyone acts on.',
  vpc:
    'Calls only the SageMaker, Lambda and Step Functions APIs, over TLS with IAM; the platform has no VPC (the ' +
    'jobs themselves can run in one: trainingSubnetIds).',
  reservedConcurrency:
    'Runs only while a deploy waits for a SageMaker job, one invocation at a time; a reservation would ' +
    'take concurrency from the account for good to guard runs that are never concurrent.',
};

/**
 * The cdk-nag findings and checkov checks a SageMaker job construct (TrainingJob, ProcessingJob) accepts, with why.
 * @param calls the SageMaker calls its handlers make, for the tracing reason (e.g. 'DescribeTrainingJob or CreateTrainingJob')
 */
export function acknowledgeSageMakerJob(job: SageMakerJobConstruct, calls: string): void {
  for (const fn of job.functions) {
    exemptFunction(fn, {
      ...DEPLOY_TIME,
      tracing: `Each call logs the job's status as JSON; the only downstream call is ${calls}, so a trace would add nothing the log does not say.`,
    });
  }
  // The provider framework's own functions and waiter: aws-cdk-lib's, found by type.
  for (const fn of job.provider.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function)) {
    exemptFunction(fn, {
      ...DEPLOY_TIME,
      environmentKey: "The environment holds the handler functions' ARNs (set by aws-cdk-lib's provider framework), no secret.",
      tracing: "aws-cdk-lib's provider framework function, which only relays to the handlers (whose logs record every call).",
      defaultMemory: "aws-cdk-lib's provider framework sizes its relay functions; they only pass events on.",
    });
  }
  // The waiter is a CloudFormation state machine the provider framework builds itself (not an sfn.StateMachine).
  for (const waiter of job.provider.node.findAll().filter((c): c is sfn.CfnStateMachine => c instanceof sfn.CfnStateMachine)) {
    acknowledge(
      waiter,
      [...inPacks('StepFunctionStateMachineXray', SERVERLESS), ...inPacks('SF2', AWS_SOLUTIONS)],
      'The waiter only polls isComplete on a timer; the handlers log every status check, so a trace would add nothing.',
    );
  }
  acknowledgeRolePolicies(job);
}
