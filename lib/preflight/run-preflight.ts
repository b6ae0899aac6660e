/**
 * `npm run preflight`: reads what the account has (read-only) and says, before any paid training, what the
 * first deploy will hit. Who the credentials are, then three independent checks: the CDK bootstrap version,
 * Lambda concurrency against the templates' reservations, and the SageMaker instance quotas (and region
 * availability) of the configured types.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';

import { ConfigError } from '../config';
import { AccountClients, accountClients, defaultRegion, destroyClients } from './account-clients';
import { checkBootstrap } from './bootstrap-check';
import { AssemblyNeeds, InstanceNeed, instanceNeeds, readAssembly } from './deploy-plan';
import { Finding, problem, report } from './findings';
import { checkLambdaConcurrency } from './lambda-check';
import { checkSageMakerQuotas } from './sagemaker-check';
import { appContext, removeAssembly, synthesizePlatform } from './synthesize';

export interface PreflightInput {
  readonly assembly: AssemblyNeeds;
  readonly instances: readonly InstanceNeed[];
  readonly region: string;
  /** The account the configuration pins the stacks to, if any. */
  readonly pinnedAccount?: string;
}

export interface PreflightResult {
  /** What was checked: the stacks, the account and the region. */
  readonly header: string;
  readonly findings: readonly Finding[];
}

/** Runs every check against the account the clients reach. */
export async function runPreflight(clients: AccountClients, input: PreflightInput): Promise<PreflightResult> {
  const stacks = input.assembly.stackNames.join(', ');
  let account: string;
  try {
    account = (await clients.sts.send(new GetCallerIdentityCommand({}))).Account ?? '';
  } catch (e) {
    return {
      header: `Preflight of ${stacks} in ${input.region}`,
      findings: [
        problem(
          'credentials',
          `no usable AWS credentials: ${(e as Error).name}: ${(e as Error).message}`,
          'configure credentials (aws configure, AWS_PROFILE=<profile> or aws sso login) and run again',
        ),
      ],
    };
  }
  const header = `Preflight of ${stacks} for account ${account} in ${input.region} (read-only: it creates and changes nothing)`;
  if (input.pinnedAccount && input.pinnedAccount !== account) {
    return {
      header,
      findings: [
        problem(
          'credentials',
          `the configuration pins the stacks to account ${input.pinnedAccount}, but these credentials are for ${account}`,
          `use credentials of ${input.pinnedAccount}, or change the account setting (-c account=${account})`,
        ),
      ],
    };
  }
  const checks = await Promise.all([
    checkBootstrap(clients, input.assembly.bootstrap, account, input.region),
    checkLambdaConcurrency(clients, input.assembly.reservations, input.region),
    checkSageMakerQuotas(clients, input.instances, input.region),
  ]);
  return { header, findings: checks.flat() };
}

/**
 * The whole command: synthesizes the app with these context values, reads the account and prints the report.
 * @returns the exit code: 0 nothing found, 1 at least one problem, 2 the preflight could not run (a bad
 *   setting, no region).
 */
export async function preflightCommand(
  context: Record<string, unknown>,
  print: (line: string) => void,
  clientsFor = accountClients,
): Promise<number> {
  let synthesized;
  try {
    synthesized = synthesizePlatform(appContext(context));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    print(`Configuration error:\n${e.message}`);
    return 2;
  }
  try {
    const region = synthesized.config.region ?? (await defaultRegion());
    if (!region) {
      print('No region: set AWS_REGION (or a profile with a region), or -c region=<region>, as for `cdk deploy`.');
      return 2;
    }
    const clients = clientsFor(region);
    try {
      const result = await runPreflight(clients, {
        assembly: readAssembly(synthesized.assemblyDir),
        instances: instanceNeeds(synthesized.config),
        region,
        pinnedAccount: synthesized.config.account,
      });
      const { lines, exitCode } = report(result.findings);
      print(result.header);
      lines.forEach((line) => print(line));
      return exitCode;
    } finally {
      destroyClients(clients);
    }
  } finally {
    removeAssembly(synthesized.assemblyDir);
  }
}
