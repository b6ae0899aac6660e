import { Fn, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Twelve hex digits that differ for every instance of `scope`'s stack: the last group of the UUID in its stack id
 * (`arn:...:stack/<name>/<uuid>`), resolved by CloudFormation at deploy time. A retained resource whose name
 * must be fixed (e.g. a log group a service writes to by name) carries it, so that deploying the stack again
 * after `cdk destroy` creates a new resource instead of failing with "already exists" on the kept one.
 *
 * The stack id is the scoped one (`Stack.of(scope).stackId`), never the unscoped `Aws.STACK_ID`: CloudFormation
 * resolves AWS::StackId in whichever template a string lands in, so a name built from the unscoped one and read
 * by another stack names something else there. Scoped, CDK turns such a use into a cross-stack reference.
 */
export function stackInstanceSuffix(scope: IConstruct): string {
  return Fn.select(4, Fn.split('-', Fn.select(2, Fn.split('/', Stack.of(scope).stackId))));
}
