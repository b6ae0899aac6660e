/**
 * CDK bootstrap: the bootstrap stack records its version in an SSM parameter, and `cdk deploy` refuses to
 * deploy when that version is below what the app's stacks and assets require (their
 * `requiresBootstrapStackVersion`), or fails when the parameter is missing (never bootstrapped).
 * https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html
 */
import { GetParameterCommand, ParameterNotFound } from '@aws-sdk/client-ssm';

import { AccountClients } from './account-clients';
import { BootstrapNeed } from './deploy-plan';
import { Finding, ok, problem, unreadable } from './findings';

/** `cdk bootstrap` for this account and region, with the qualifier when it is not the default one. */
function bootstrapCommand(parameter: string, account: string, region: string): string {
  const qualifier = /^\/cdk-bootstrap\/([^/]+)\/version$/.exec(parameter)?.[1];
  return `npx cdk bootstrap aws://${account}/${region}${qualifier && qualifier !== 'hnb659fds' ? ` --qualifier ${qualifier}` : ''}`;
}

export async function checkBootstrap(
  clients: AccountClients,
  needs: readonly BootstrapNeed[],
  account: string,
  region: string,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const need of needs) {
    let value: string | undefined;
    try {
      value = (await clients.ssm.send(new GetParameterCommand({ Name: need.parameter }))).Parameter?.Value;
    } catch (e) {
      if (e instanceof ParameterNotFound) {
        findings.push(
          problem(
            'bootstrap',
            `${account} is not bootstrapped in ${region} (no SSM parameter ${need.parameter}); the app needs bootstrap version ${need.version} or later`,
            `${bootstrapCommand(need.parameter, account, region)}`,
          ),
        );
      } else {
        findings.push(unreadable('bootstrap', `the SSM parameter ${need.parameter}`, e, 'ssm:GetParameter'));
      }
      continue;
    }
    const have = Number(value);
    if (!Number.isInteger(have)) {
      findings.push(
        problem(
          'bootstrap',
          `${need.parameter} holds ${JSON.stringify(value)}, not a bootstrap version`,
          `bootstrap again: ${bootstrapCommand(need.parameter, account, region)}`,
        ),
      );
    } else if (have < need.version) {
      findings.push(
        problem(
          'bootstrap',
          `bootstrap version ${have} in ${region} (${need.parameter}) is older than the ${need.version} the app needs`,
          `update the bootstrap stack: ${bootstrapCommand(need.parameter, account, region)}`,
        ),
      );
    } else {
      findings.push(ok('bootstrap', `bootstrap version ${have} in ${region} (the app needs ${need.version} or later)`));
    }
  }
  return findings;
}
