/**
 * The AWS clients the preflight reads the account with: the unmodified SDK clients with the default
 * credential chain, so `AWS_PROFILE`, `AWS_REGION` and `AWS_ENDPOINT_URL` (the tests' stand-in) apply as they
 * do to the CDK CLI. Every call the checks make is a Get, List or Describe: the preflight creates and
 * changes nothing.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';

export interface AccountClients {
  readonly sts: STSClient;
  readonly cloudFormation: CloudFormationClient;
  readonly ssm: SSMClient;
  readonly lambda: LambdaClient;
  readonly serviceQuotas: ServiceQuotasClient;
}

/** One client per service, all in `region`. */
export function accountClients(region: string): AccountClients {
  const config = { region };
  return {
    sts: new STSClient(config),
    cloudFormation: new CloudFormationClient(config),
    ssm: new SSMClient(config),
    lambda: new LambdaClient(config),
    serviceQuotas: new ServiceQuotasClient(config),
  };
}

export function destroyClients(clients: AccountClients): void {
  for (const client of Object.values(clients)) client.destroy();
}

/** The region the SDK picks from the environment and the shared config (AWS_REGION, the profile), if any. */
export async function defaultRegion(): Promise<string | undefined> {
  const probe = new STSClient({});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}
