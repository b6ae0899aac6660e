/**
 * `npm run preflight` against an account stand-in (test/support/account-standin.ts: STS, CloudFormation, SSM,
 * Lambda and Service Quotas on 127.0.0.1, each speaking its protocol and checking requests and answers against
 * its botocore API model), through the unmodified SDK clients. Each scenario prints its line and exit code.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { spawn } from 'child_process';
import * as path from 'path';

import { parseArguments } from '../bin/preflight';
import { PlatformConfig } from '../lib/config';
import { AccountClients, accountClients, destroyClients } from '../lib/preflight/account-clients';
import { AssemblyNeeds, instanceNeeds, readAssembly, Reservation } from '../lib/preflight/deploy-plan';
import { report } from '../lib/preflight/findings';
import { preflightCommand, runPreflight } from '../lib/preflight/run-preflight';
import { appContext, removeAssembly, synthesizePlatform } from '../lib/preflight/synthesize';
import { AccountScenario, AccountStandin, quotaCode, StandinQuota } from './support/account-standin';

const ROOT = path.join(__dirname, '..');
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const BOOTSTRAP = '/cdk-bootstrap/hnb659fds/version';

/** Quotas of types the platform does not use, enough that the catalogue takes two pages (100 per page). */
const OTHER_QUOTAS: StandinQuota[] = Array.from({ length: 140 }, (_, i) => ({
  name: `ml.other${i}.xlarge for training job usage`,
  defaultValue: 1,
}));

/** An account where the default configuration deploys: bootstrapped, 1000 Lambda executions, quotas for every type. */
function goodAccount(quotas: Record<string, Partial<StandinQuota> | null> = {}): AccountScenario {
  const sagemaker: Record<string, StandinQuota> = {
    'ml.p3.2xlarge for training job usage': { name: 'ml.p3.2xlarge for training job usage', defaultValue: 0, appliedValue: 1 },
    'ml.p3.2xlarge for spot training job usage': { name: 'ml.p3.2xlarge for spot training job usage', defaultValue: 0, appliedValue: 1 },
    'ml.m5.large for processing job usage': { name: 'ml.m5.large for processing job usage', defaultValue: 4 },
    'ml.m5.large for endpoint usage': { name: 'ml.m5.large for endpoint usage', defaultValue: 4, appliedValue: 8 },
    'ml.m5.large for training job usage': { name: 'ml.m5.large for training job usage', defaultValue: 2 },
  };
  for (const [name, change] of Object.entries(quotas)) {
    if (change === null) delete sagemaker[name];
    else sagemaker[name] = { ...(sagemaker[name] ?? { name, defaultValue: 0 }), ...change };
  }
  return {
    account: ACCOUNT,
    parameters: { [BOOTSTRAP]: '27' },
    lambda: { concurrentExecutions: 1000, unreservedConcurrentExecutions: 1000 },
    quotas: { sagemaker: [...OTHER_QUOTAS, ...Object.values(sagemaker)], lambda: [{ name: 'Concurrent executions', defaultValue: 1000 }] },
  };
}

const standin = new AccountStandin(goodAccount());
let endpoint: string;
let config: PlatformConfig;
let assembly: AssemblyNeeds;
let assemblyDir: string;
const saved = { ...process.env };

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  endpoint = await standin.start();
  const synthesized = synthesizePlatform(appContext({}));
  config = synthesized.config;
  assemblyDir = synthesized.assemblyDir;
  assembly = readAssembly(assemblyDir);
});
afterAll(async () => {
  removeAssembly(assemblyDir);
  await standin.stop();
  process.env = saved;
});

/** Clients for the stand-in, as accountClients makes them, with dummy credentials. */
function clients(): AccountClients {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'AKIDPREFLIGHTTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'preflight-test-secret';
  return accountClients(REGION);
}

/** The report's lines and exit code for this account, the real synthesized assembly and the configuration. */
async function preflight(
  scenario: AccountScenario,
  options: { config?: Partial<PlatformConfig>; reservations?: Reservation[]; pinnedAccount?: string } = {},
) {
  standin.scenario = scenario;
  standin.calls.length = 0;
  const c = clients();
  try {
    const result = await runPreflight(c, {
      assembly: { ...assembly, reservations: options.reservations ?? assembly.reservations },
      instances: instanceNeeds({ ...config, ...options.config }),
      region: REGION,
      pinnedAccount: options.pinnedAccount,
    });
    return { header: result.header, ...report(result.findings) };
  } finally {
    destroyClients(c);
  }
}

/** The two reservations the platform has made so far (proxy and responder), fixed here so the Lambda arithmetic is the test's own. */
const RESERVATIONS: Reservation[] = [
  { stackName: 'DlPlatform-Serving', logicalId: 'ProxyFunction', path: 'DlPlatform-Serving/InferenceApi/Proxy/Function', reserved: 100 },
  { stackName: 'DlPlatform-Monitoring', logicalId: 'ResponderFunction', path: 'DlPlatform-Monitoring/Responder/Function', reserved: 5 },
];

describe('what the deploy asks of the account, read from the synthesized app', () => {
  test("the bootstrap versions are the ones the CDK's own cloud-assembly reader sees on every stack", () => {
    const stacks = new cxapi.CloudAssembly(assemblyDir).stacks;
    const versions = stacks.map((s) => s.requiresBootstrapStackVersion ?? 0);
    expect(assembly.stackNames).toEqual(stacks.map((s) => s.stackName));
    expect(assembly.bootstrap).toEqual([{ parameter: stacks[0].bootstrapStackVersionSsmParameter, version: Math.max(...versions) }]);
  });

  test('the reservations are every function that reserves concurrency in the templates, with its construct path', () => {
    const expected = new cxapi.CloudAssembly(assemblyDir).stacks.flatMap((s) => {
      const reserving = Template.fromJSON(s.template).findResources('AWS::Lambda::Function', {
        Properties: { ReservedConcurrentExecutions: Match.anyValue() },
      });
      return Object.entries(reserving).map(([logicalId, r]) => ({
        stackName: s.stackName,
        logicalId,
        path: r.Metadata['aws:cdk:path'],
        reserved: r.Properties.ReservedConcurrentExecutions,
      }));
    });
    expect(assembly.reservations).toEqual(expected);
    for (const r of assembly.reservations) expect(r.path.startsWith(`${r.stackName}/`)).toBe(true);
  });

  test("the SageMaker needs follow the settings: spot or on-demand training, the processing type, the endpoint's fleets", () => {
    expect(
      instanceNeeds({ ...config, trainingUseSpot: true, trainingInstanceCount: 2, servingMinCapacity: 1, servingMaxCapacity: 4 }).map(
        (n) => [n.usage, n.instanceType, n.count, n.later.map((l) => l.count)],
      ),
    ).toEqual([
      ['spot training job', config.trainingInstanceType, 2, []],
      ['processing job', config.prepareInstanceType, 1, []],
      ['endpoint', config.servingInstanceType, 1, [2, 8]],
    ]);
    expect(instanceNeeds({ ...config, trainingUseSpot: false, servingMinCapacity: 2, servingMaxCapacity: 2 })[0].usage).toBe(
      'training job',
    );
    expect(instanceNeeds({ ...config, servingMinCapacity: 2, servingMaxCapacity: 2 })[2].later).toEqual([
      { count: 4, why: expect.stringContaining('blue/green') },
    ]);
  });
});

describe('preflight scenarios', () => {
  test('all good: every check passes, exit code 0, and only Get/List calls were made', async () => {
    const out = await preflight(goodAccount());
    expect(out.header).toBe(
      `Preflight of ${assembly.stackNames.join(', ')} for account ${ACCOUNT} in ${REGION} (read-only: it creates and changes nothing)`,
    );
    expect(out.exitCode).toBe(0);
    expect(out.lines.filter((l) => !l.startsWith('ok '))).toEqual(['No problem found: the first deploy fits this account and region.']);
    expect(out.lines).toContain(
      `ok      bootstrap: bootstrap version 27 in ${REGION} (the app needs ${assembly.bootstrap[0].version} or later)`,
    );
    expect(out.lines).toContain(
      `ok      sagemaker: "ml.p3.2xlarge for spot training job usage" is 1 in ${REGION}; the training job (managed spot) needs 1`,
    );
    expect(out.lines).toContain(
      `ok      sagemaker: "ml.m5.large for processing job usage" is 4 (the AWS default; no applied value) in ${REGION}; each Processing job (prepare, then evaluate) needs 1`,
    );
    expect(standin.operations().every((op) => /\.(Get|List)[A-Za-z]+$/.test(op))).toBe(true);
    expect(standin.calls.every((c) => c.status === 200 || c.status === 400 || c.status === 404)).toBe(true);
    // The catalogue took two pages, the second asked for with the first one's token.
    expect(
      standin.calls
        .filter((c) => c.operation === 'ListAWSDefaultServiceQuotas' && c.input.ServiceCode === 'sagemaker')
        .map((c) => c.input.NextToken !== undefined),
    ).toEqual([false, true]);
  });

  test('bootstrap missing: one line with the cdk bootstrap command, exit code 1', async () => {
    const out = await preflight({ ...goodAccount(), parameters: {} });
    expect(out.exitCode).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      `PROBLEM bootstrap: ${ACCOUNT} is not bootstrapped in ${REGION} (no SSM parameter ${BOOTSTRAP}); the app needs bootstrap version ${assembly.bootstrap[0].version} or later. To do: npx cdk bootstrap aws://${ACCOUNT}/${REGION}`,
    ]);
  });

  test('bootstrap too old: one line naming both versions, exit code 1', async () => {
    const old = assembly.bootstrap[0].version - 1;
    const out = await preflight({ ...goodAccount(), parameters: { [BOOTSTRAP]: String(old) } });
    expect(out.exitCode).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      `PROBLEM bootstrap: bootstrap version ${old} in ${REGION} (${BOOTSTRAP}) is older than the ${assembly.bootstrap[0].version} the app needs. To do: update the bootstrap stack: npx cdk bootstrap aws://${ACCOUNT}/${REGION}`,
    ]);
  });

  test("concurrency too low for the reservations (a new account's 10): the quota to request, exit code 1", async () => {
    const out = await preflight(
      { ...goodAccount(), lambda: { concurrentExecutions: 10, unreservedConcurrentExecutions: 10 } },
      { reservations: RESERVATIONS },
    );
    expect(out.exitCode).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      'PROBLEM lambda: the stacks reserve 105 concurrent executions (DlPlatform-Serving/InferenceApi/Proxy/Function 100 + DlPlatform-Monitoring/Responder/Function 5), ' +
        `but the account has 10 unreserved of 10 in ${REGION}: -95 would stay unreserved and Lambda refuses any reservation that leaves fewer than 100, so CloudFormation fails the function. ` +
        `To do: raise Lambda's "Concurrent executions" quota to at least 205: aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${quotaCode('Concurrent executions')} --desired-value 205 --region ${REGION}; ` +
        "or reserve less (the reservation settings in README's settings table)",
    ]);
  });

  test('one execution short: 204 of 205 fails, 205 passes (Lambda keeps exactly 100)', async () => {
    const short = await preflight(
      { ...goodAccount(), lambda: { concurrentExecutions: 204, unreservedConcurrentExecutions: 204 } },
      { reservations: RESERVATIONS },
    );
    expect(short.lines.filter((l) => l.startsWith('PROBLEM lambda'))).toEqual([expect.stringContaining('99 would stay unreserved')]);
    const enough = await preflight(
      { ...goodAccount(), lambda: { concurrentExecutions: 205, unreservedConcurrentExecutions: 205 } },
      { reservations: RESERVATIONS },
    );
    expect(enough.exitCode).toBe(0);
    expect(enough.lines).toContain(
      "ok      lambda: the stacks reserve 105 concurrent executions; 100 of the account's 205 stay unreserved (Lambda keeps at least 100)",
    );
  });

  test('reservations the deployed functions already hold are counted back, not twice', async () => {
    const deployed: AccountScenario = {
      ...goodAccount(),
      lambda: { concurrentExecutions: 205, unreservedConcurrentExecutions: 100 },
      stacks: {
        'DlPlatform-Serving': [
          { logicalId: 'ProxyFunction', type: 'AWS::Lambda::Function', physicalId: 'DlPlatform-Serving-ProxyFunction-AbC123' },
        ],
        'DlPlatform-Monitoring': [
          { logicalId: 'ResponderFunction', type: 'AWS::Lambda::Function', physicalId: 'DlPlatform-Monitoring-ResponderFunction-XyZ789' },
        ],
      },
      functions: { 'DlPlatform-Serving-ProxyFunction-AbC123': 100, 'DlPlatform-Monitoring-ResponderFunction-XyZ789': 5 },
    };
    const out = await preflight(deployed, { reservations: RESERVATIONS });
    expect(out.exitCode).toBe(0);
    expect(out.lines).toContain(
      "ok      lambda: the stacks reserve 105 concurrent executions (105 of them already held by the deployed functions); 100 of the account's 205 stay unreserved (Lambda keeps at least 100)",
    );
    expect(standin.operations()).toEqual(expect.arrayContaining(['Lambda.GetFunctionConcurrency', 'CloudFormation.ListStackResources']));
  });

  test('a quota of 0 for the on-demand training type: the quota to request, exit code 1', async () => {
    const out = await preflight(goodAccount({ 'ml.p3.2xlarge for training job usage': { appliedValue: 0 } }), {
      config: { trainingUseSpot: false },
    });
    const code = quotaCode('ml.p3.2xlarge for training job usage');
    expect(out.exitCode).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      `PROBLEM sagemaker: "ml.p3.2xlarge for training job usage" is 0 in ${REGION}, and the training job (on demand) needs 1. To do: request 1: ` +
        `aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code ${code} --desired-value 1 --region ${REGION} ` +
        `(or https://console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas/${code}?region=${REGION}); or pick another type with -c trainingInstanceType=<type>`,
    ]);
  });

  test('spot quota 0 with spot on: the spot quota to request, or on-demand training, exit code 1', async () => {
    const out = await preflight(goodAccount({ 'ml.p3.2xlarge for spot training job usage': { appliedValue: 0 } }), {
      config: { trainingUseSpot: true },
    });
    const code = quotaCode('ml.p3.2xlarge for spot training job usage');
    expect(out.exitCode).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      `PROBLEM sagemaker: "ml.p3.2xlarge for spot training job usage" is 0 in ${REGION}, and the training job (managed spot) needs 1. To do: request 1: ` +
        `aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code ${code} --desired-value 1 --region ${REGION} ` +
        `(or https://console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas/${code}?region=${REGION}); ` +
        'or train on demand with -c trainingUseSpot=false (that needs "ml.p3.2xlarge for training job usage")',
    ]);
  });

  test('a multi-instance training job needs its whole count', async () => {
    const out = await preflight(goodAccount(), { config: { trainingInstanceCount: 2 } });
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      expect.stringMatching(
        /^PROBLEM sagemaker: "ml.p3.2xlarge for spot training job usage" is 1 in eu-west-1, and the training job \(managed spot\) needs 2\. To do: request 2: .*--desired-value 2 /,
      ),
    ]);
  });

  test('type not offered in the region (no such quota): says so, exit code 1', async () => {
    const out = await preflight(goodAccount({ 'ml.p3.2xlarge for spot training job usage': null }), { config: { trainingUseSpot: true } });
    expect(out.exitCode).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      `PROBLEM sagemaker: ml.p3.2xlarge is not offered for spot training jobs in ${REGION} (Service Quotas lists no "ml.p3.2xlarge for spot training job usage" there), ` +
        'so the training job (managed spot) cannot start. To do: pick another type with -c trainingInstanceType=<type>, or deploy to a region that offers it',
    ]);
  });

  test('an endpoint quota enough for the first deploy but not for a blue/green update: notes, exit code 0', async () => {
    const out = await preflight(goodAccount({ 'ml.m5.large for endpoint usage': { appliedValue: 1 } }), {
      config: { servingMinCapacity: 1, servingMaxCapacity: 4 },
    });
    expect(out.exitCode).toBe(0);
    expect(out.lines.filter((l) => l.startsWith('note'))).toEqual([
      expect.stringMatching(
        /^note {4}sagemaker: "ml.m5.large for endpoint usage" is 1: the next model's blue\/green update \(a second fleet of 1 beside the first\) needs 2\. To do: request 2 before then: /,
      ),
      expect.stringMatching(
        /^note {4}sagemaker: "ml.m5.large for endpoint usage" is 1: a blue\/green update once autoscaling has reached servingMaxCapacity \(4\) needs 8\. To do: request 8 before then: /,
      ),
    ]);
  });

  test('credentials for another account than the configuration pins: one line, and no check runs', async () => {
    const out = await preflight(goodAccount(), { pinnedAccount: '210987654321' });
    expect(out.exitCode).toBe(1);
    expect(out.lines).toEqual([
      `PROBLEM credentials: the configuration pins the stacks to account 210987654321, but these credentials are for ${ACCOUNT}. To do: use credentials of 210987654321, or change the account setting (-c account=${ACCOUNT})`,
      '1 problem: the first deploy would fail; fix it before `cdk deploy`.',
    ]);
    expect(standin.operations()).toEqual(['STS.GetCallerIdentity']);
  });
});

describe('the command', () => {
  test('a bad setting ends with the configuration error and exit code 2, before any AWS call', async () => {
    standin.calls.length = 0;
    const lines: string[] = [];
    const code = await preflightCommand(
      { trainingInstanceCount: '0' },
      (l) => lines.push(l),
      () => {
        throw new Error('no client may be made');
      },
    );
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(/^Configuration error:\n.*trainingInstanceCount/);
    expect(standin.calls).toEqual([]);
  });

  test('arguments: -c pairs and a context file become context values; anything else is a usage error', () => {
    expect(parseArguments(['-c', 'trainingUseSpot=false', '--context', 'region=eu-west-1'])).toEqual({
      context: { trainingUseSpot: 'false', region: 'eu-west-1' },
    });
    expect(parseArguments(['--context-file', path.join(ROOT, 'cdk.json')])).toEqual({
      context: expect.objectContaining({ app: 'npx tsx bin/app.ts' }),
    });
    expect(parseArguments(['-c', 'novalue'])).toEqual({ error: '-c needs name=value, got "novalue"' });
    expect(parseArguments(['--frobnicate'])).toEqual({ error: 'unknown argument "--frobnicate"' });
    expect(parseArguments(['--context-file', path.join(ROOT, 'README.md')])).toEqual({
      error: expect.stringMatching(/README\.md is not JSON: /),
    });
    expect(parseArguments(['--help'])).toEqual({ help: true });
  });

  test("checks the integ test's settings from its context file (npm run integ runs this first): on-demand CPU training", async () => {
    standin.scenario = goodAccount({ 'ml.m5.large for training job usage': { appliedValue: 0 } });
    process.env.AWS_REGION = REGION;
    const parsed = parseArguments(['--context-file', path.join(ROOT, 'test', 'integ', 'integ-context.json')]);
    if (!('context' in parsed)) throw new Error('the integ context file does not parse');
    const lines: string[] = [];
    const code = await preflightCommand(
      parsed.context,
      (l) => lines.push(l),
      () => clients(),
    );
    expect(code).toBe(1);
    expect(lines[0]).toMatch(
      /^Preflight of DlPlatformInteg-Data, DlPlatformInteg-Training, DlPlatformInteg-Serving, DlPlatformInteg-Monitoring for account /,
    );
    expect(lines.filter((l) => l.startsWith('PROBLEM'))).toEqual([
      expect.stringMatching(
        /^PROBLEM sagemaker: "ml.m5.large for training job usage" is 0 in eu-west-1, and the training job \(on demand\) needs 1\. /,
      ),
    ]);
  });

  /** `npm run preflight`'s own process (bin/preflight.ts through tsx), against the stand-in. */
  function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: Record<string, string | undefined> = {
      ...saved,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDPREFLIGHTTEST',
      AWS_SECRET_ACCESS_KEY: 'preflight-test-secret',
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: path.join(ROOT, 'no-such-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'no-such-aws-credentials'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    return new Promise((resolve, reject) => {
      const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/preflight.ts', ...args], { cwd: ROOT, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  test('npm run preflight against an account that fits prints the summary and exits 0', async () => {
    standin.scenario = goodAccount();
    const out = await runBin([]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n').at(-1)).toBe('No problem found: the first deploy fits this account and region.');
  });

  test('npm run preflight -c trainingUseSpot=false against a 0 on-demand quota prints the problem and exits 1', async () => {
    standin.scenario = goodAccount({ 'ml.p3.2xlarge for training job usage': { appliedValue: 0 } });
    const out = await runBin(['-c', 'trainingUseSpot=false']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      `PROBLEM sagemaker: "ml.p3.2xlarge for training job usage" is 0 in ${REGION}, and the training job (on demand) needs 1. To do: request 1: `,
    );
  });
});
