/**
 * Lambda concurrency: a function's reserved concurrency comes out of the account's unreserved pool, and
 * Lambda refuses a reservation that would leave fewer than 100 executions unreserved ("You can reserve up to
 * the Unreserved account concurrency value that is shown, minus 100 for functions that don't have reserved
 * concurrency": https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). CloudFormation
 * then fails the function's stack. New accounts start with a lower concurrency quota
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), below which nothing can be
 * reserved at all.
 *
 * The reservations come from the synthesized templates. A function the platform already deployed holds its
 * reservation now and keeps it, so that reservation is already out of the unreserved pool and is counted
 * back (read with CloudFormation's ListStackResources and Lambda's GetFunctionConcurrency).
 */
import { ListStackResourcesCommand, StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { ListAWSDefaultServiceQuotasCommand } from '@aws-sdk/client-service-quotas';

import { LAMBDA_UNRESERVED_MINIMUM } from '../../constructs/private/lambda-concurrency';
import { AccountClients } from './account-clients';
import { Reservation } from './deploy-plan';
import { Finding, ok, problem, unreadable } from './findings';

/** The Service Quotas name of Lambda's account concurrency quota (service code `lambda`). */
const CONCURRENCY_QUOTA_NAME = 'Concurrent executions';

/** The stack's resources, or undefined when the stack does not exist (CloudFormation's ValidationError). */
async function stackResources(clients: AccountClients, stackName: string): Promise<StackResourceSummary[] | undefined> {
  const out: StackResourceSummary[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await clients.cloudFormation.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
      out.push(...(page.StackResourceSummaries ?? []));
      token = page.NextToken;
    } while (token);
  } catch (e) {
    if ((e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message)) return undefined;
    throw e;
  }
  return out;
}

/** Reservations the deployed stacks hold now for the functions the templates reserve for. */
async function heldNow(clients: AccountClients, reservations: readonly Reservation[]): Promise<number> {
  let held = 0;
  for (const stackName of new Set(reservations.map((r) => r.stackName))) {
    const resources = await stackResources(clients, stackName);
    for (const r of reservations.filter((x) => x.stackName === stackName)) {
      const fn = resources?.find(
        (s) => s.LogicalResourceId === r.logicalId && s.ResourceType === 'AWS::Lambda::Function' && s.PhysicalResourceId,
      );
      if (!fn) continue;
      const current = await clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: fn.PhysicalResourceId }));
      held += current.ReservedConcurrentExecutions ?? 0;
    }
  }
  return held;
}

/** The quota code of Lambda's concurrency quota in this region, for the increase request (undefined if not listed). */
async function concurrencyQuotaCode(clients: AccountClients): Promise<string | undefined> {
  let token: string | undefined;
  do {
    const page = await clients.serviceQuotas.send(
      new ListAWSDefaultServiceQuotasCommand({ ServiceCode: 'lambda', MaxResults: 100, NextToken: token }),
    );
    const quota = page.Quotas?.find((q) => q.QuotaName === CONCURRENCY_QUOTA_NAME);
    if (quota) return quota.QuotaCode;
    token = page.NextToken;
  } while (token);
  return undefined;
}

export async function checkLambdaConcurrency(
  clients: AccountClients,
  reservations: readonly Reservation[],
  region: string,
): Promise<Finding[]> {
  if (reservations.length === 0) return [ok('lambda', 'no function reserves concurrency')];
  let limit: number;
  let unreserved: number;
  try {
    const settings = await clients.lambda.send(new GetAccountSettingsCommand({}));
    limit = settings.AccountLimit?.ConcurrentExecutions ?? 0;
    unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  } catch (e) {
    return [unreadable('lambda', 'the Lambda account settings', e, 'lambda:GetAccountSettings')];
  }
  let held: number;
  try {
    held = await heldNow(clients, reservations);
  } catch (e) {
    return [
      unreadable(
        'lambda',
        'the reservations of the functions already deployed',
        e,
        'cloudformation:ListStackResources and lambda:GetFunctionConcurrency',
      ),
    ];
  }
  const wanted = reservations.reduce((sum, r) => sum + r.reserved, 0);
  const left = unreserved + held - wanted;
  const parts = reservations.map((r) => `${r.path} ${r.reserved}`).join(' + ');
  const heldText = held > 0 ? ` (${held} of them already held by the deployed functions)` : '';
  if (left >= LAMBDA_UNRESERVED_MINIMUM) {
    return [
      ok(
        'lambda',
        `the stacks reserve ${wanted} concurrent executions${heldText}; ${left} of the account's ${limit} stay unreserved (Lambda keeps at least ${LAMBDA_UNRESERVED_MINIMUM})`,
      ),
    ];
  }
  const needed = limit + (LAMBDA_UNRESERVED_MINIMUM - left);
  let code: string | undefined;
  try {
    code = await concurrencyQuotaCode(clients);
  } catch {
    code = undefined;
  }
  const request = code
    ? `aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${code} --desired-value ${needed} --region ${region}`
    : `request "${CONCURRENCY_QUOTA_NAME}" of at least ${needed} in the Service Quotas console (AWS Lambda) for ${region}`;
  return [
    problem(
      'lambda',
      `the stacks reserve ${wanted} concurrent executions (${parts})${heldText}, but the account has ${unreserved} unreserved of ${limit} in ${region}: ` +
        `${left} would stay unreserved and Lambda refuses any reservation that leaves fewer than ${LAMBDA_UNRESERVED_MINIMUM}, so CloudFormation fails the function`,
      `raise Lambda's "${CONCURRENCY_QUOTA_NAME}" quota to at least ${needed}: ${request}; or reserve less (the reservation settings in README's settings table)`,
    ),
  ];
}
