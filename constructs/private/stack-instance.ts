import { Aws, Fn, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Twelve hex digits that differ for every instance of a stack: the last group of the UUID in its stack id
 * (`arn:...:stack/<name>/<uuid>`), resolved by CloudFormation at deploy time. A retained resource whose name
 * must be fixed (e.g. a log group a service writes to by name) carries it, so that deploying the stack again
 * after `cdk destroy` creates a new resource instead of failing with "already exists" on the kept one.
 */
export function stackInstanceSuffix(scope?: IConstruct): string {
  // With a scope, the id is that stack's (a reference another stack resolves through an export, not as its own id).
  const stackId = scope ? Stack.of(scope).stackId : Aws.STACK_ID;
  return Fn.select(4, Fn.split('-', Fn.select(2, Fn.split('/', stackId))));
}
