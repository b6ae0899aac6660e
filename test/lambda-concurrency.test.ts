/**
 * Issue 17, defect 4: an account created today has a reduced Lambda concurrency quota, and Lambda refuses any
 * reservation that leaves fewer than 100 executions unreserved. So the platform reserves nothing unless
 * reserveLambdaConcurrency asks for it, accepts whatever quota the user states, and validates a requested
 * reservation once, at synth, against the quota and Lambda's published minimum.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { LAMBDA_UNRESERVED_MINIMUM, platformReservations } from '../constructs/private/lambda-concurrency';
import { proxyFunctionTimeout } from '../constructs/serving/inference-proxy';
import { ConfigError, loadConfig } from '../lib/config';
import { loadServiceModel } from '../local/api-model/service-model';
import { buildTestPlatform, contextWith, stacksOf } from './support/platform';

/** ReservedConcurrentExecutions of every function of every stack, by stack name and logical id. */
function reservations(stacks: Stack[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const stack of stacks) {
    for (const [id, fn] of Object.entries(Template.fromStack(stack).findResources('AWS::Lambda::Function'))) {
      const reserved = (fn as { Properties: { ReservedConcurrentExecutions?: number } }).Properties.ReservedConcurrentExecutions;
      if (reserved !== undefined) out[`${stack.stackName}/${id}`] = reserved;
    }
  }
  return out;
}

describe('reserved Lambda concurrency is a setting, off by default', () => {
  test("by default no function of any stack reserves concurrency, so a new account's reduced quota can deploy it", () => {
    const { platform } = buildTestPlatform();
    expect(reservations(stacksOf(platform))).toEqual({});
  });

  test('a new account can say what it has: a quota of 10 is accepted when nothing is reserved', () => {
    expect(loadConfig(contextWith({ lambdaConcurrencyQuota: 10 })).lambdaConcurrencyQuota).toBe(10);
    expect(loadConfig(contextWith({ lambdaConcurrencyQuota: '1' })).lambdaConcurrencyQuota).toBe(1);
  });

  test('reserving needs the quota: without it synth names lambdaConcurrencyQuota and how to read it', () => {
    const load = () => loadConfig(contextWith({ reserveLambdaConcurrency: true }));
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /Invalid setting "lambdaConcurrencyQuota": unset; allowed: .*required with reserveLambdaConcurrency=true .*aws lambda get-account-settings/,
    );
  });

  test('a reservation the quota cannot hold fails synth once, naming the setting, both numbers and the ways out', () => {
    const load = () => loadConfig(contextWith({ reserveLambdaConcurrency: 'true', lambdaConcurrencyQuota: 10 }));
    expect(load).toThrow(
      /Invalid setting "reserveLambdaConcurrency": true; allowed: false, or true with reservations that fit lambdaConcurrencyQuota \(10\): .*= 105\) must leave 100 of the account's 10 unreserved, so at most 0\. Set reserveLambdaConcurrency=false/,
    );
  });

  test("reserved, the templates carry exactly what platformReservations computes: the proxy's in Serving, the responder's in Monitoring", () => {
    const { platform, config } = buildTestPlatform({
      reserveLambdaConcurrency: true,
      lambdaConcurrencyQuota: 1000,
      apiThrottleRateLimit: 3,
      apiThrottleBurstLimit: 3,
    });
    const expected = platformReservations(config, proxyFunctionTimeout().toSeconds())!;
    expect(expected).toEqual({ proxy: 81, responder: 5 });
    const found = reservations(stacksOf(platform));
    expect(Object.entries(found).map(([where, n]) => [where.split('/')[0], n])).toEqual([
      ['DlPlatform-Serving', expected.proxy],
      ['DlPlatform-Monitoring', expected.responder],
    ]);
  });

  test("Lambda's unreserved minimum is the one its API model documents for PutFunctionConcurrency", () => {
    const doc =
      (loadServiceModel('lambda').operations as Record<string, { documentation?: string }>).PutFunctionConcurrency.documentation ?? '';
    const published = /leave at least (\d+) simultaneous executions unreserved/.exec(doc.replace(/<[^>]+>/g, ''));
    expect(published).not.toBeNull();
    expect(LAMBDA_UNRESERVED_MINIMUM).toBe(Number(published![1]));
  });
});
