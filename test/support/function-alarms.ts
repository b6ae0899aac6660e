/**
 * Which Lambda functions of a deployment have their error and throttle alarms, read from the templates as
 * CloudFormation would resolve them (local/state-machine/cfn-evaluator.ts): every AWS::Lambda::Function of every stack, by the
 * physical name it gets, against every AWS::CloudWatch::Alarm on AWS/Lambda Errors or Throttles whose
 * FunctionName dimension names it (a plain metric alarm or a metric-math alarm's metrics).
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';

import { CfnDeployment } from '../../local/state-machine/cfn-evaluator';
import { stacksOfApp } from './deploy-rehearsal';

/** The alarm metrics every function needs. */
export const REQUIRED_METRICS = ['Errors', 'Throttles'] as const;

/** A function that goes without alarms, and why; matched against the function's construct path. */
export interface UnalarmedFunction {
  readonly path: RegExp;
  readonly what: string;
  readonly why: string;
}

/**
 * Functions without alarms: aws-cdk-lib's deploy-time machinery, which runs only while CloudFormation deploys the
 * stack and answers it. A failure there fails (and rolls back) that deploy, with the reason in the stack's events,
 * in front of whoever deploys; an alarm would report the same failure later, to someone else.
 */
export const UNALARMED_FUNCTIONS: readonly UnalarmedFunction[] = [
  {
    path: /\/Provider\/framework-(onEvent|isComplete|onTimeout)\/Resource$/,
    what: "the custom-resource provider framework's relay functions (aws-cdk-lib custom_resources.Provider)",
    why:
      "Run only during a deploy: onEvent relays CloudFormation's request to our handler and isComplete/onTimeout poll it " +
      'for the waiter; an error or a throttle fails the custom resource, so the deploy fails with the reason. Our own ' +
      'handlers behind them have alarms.',
  },
  {
    path: /\/Custom::CDKBucketDeployment[0-9a-fA-F]+\w*\/Resource$/,
    what: "BucketDeployment's copy function (aws-cdk-lib s3_deployment), which uploads the sample data",
    why: 'CloudFormation invokes it once per deploy that changes the sample and waits for its answer; a failure fails the deploy.',
  },
  {
    path: /\/AWS679f53fac002430cb0da5b7982bd2287\/Resource$/,
    what: "AwsCustomResource's function (aws-cdk-lib custom_resources), which writes the serving pointer at deploy",
    why: 'CloudFormation invokes it when the registered version changes and waits for its answer; a failure fails the deploy.',
  },
];

/** One function: where it is, its physical name, and the alarm metrics found for it. */
export interface FunctionAlarms {
  readonly stack: string;
  readonly logicalId: string;
  readonly path: string;
  readonly functionName: string;
  /** Metric name -> the alarms (stack/logical id) that watch it. */
  readonly alarms: Record<string, string[]>;
}

interface MetricSpec {
  Namespace?: unknown;
  MetricName?: unknown;
  Dimensions?: { Name: string; Value: unknown }[];
}

/** Every Lambda function of the app's templates with the alarms that watch it. */
export function functionAlarms(app: App): FunctionAlarms[] {
  const paths = new Map<string, string>();
  for (const c of app.node.findAll())
    if (CfnResource.isCfnResource(c)) paths.set(`${Stack.of(c).stackName}/${Stack.of(c).resolve(c.logicalId)}`, c.node.path);
  const deployment = new CfnDeployment(stacksOfApp(app));
  const watched = new Map<string, Record<string, string[]>>();
  for (const stack of deployment.stacks) {
    for (const id of stack.resourceIds().filter((r) => stack.resourceType(r) === 'AWS::CloudWatch::Alarm')) {
      const props = stack.properties(id) as MetricSpec & { Metrics?: { MetricStat?: { Metric: MetricSpec } }[] };
      const specs: MetricSpec[] = [props, ...(props.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))];
      for (const m of specs) {
        if (m.Namespace !== 'AWS/Lambda' || typeof m.MetricName !== 'string') continue;
        const fn = m.Dimensions?.find((d) => d.Name === 'FunctionName')?.Value;
        if (typeof fn !== 'string') continue;
        const byMetric = watched.get(fn) ?? {};
        (byMetric[m.MetricName] ??= []).push(`${stack.name}/${id}`);
        watched.set(fn, byMetric);
      }
    }
  }
  return deployment.stacks.flatMap((stack) =>
    stack
      .resourceIds()
      .filter((r) => stack.resourceType(r) === 'AWS::Lambda::Function')
      .map((id) => {
        const functionName = stack.physicalName(id);
        return {
          stack: stack.name,
          logicalId: id,
          path: paths.get(`${stack.name}/${id}`) ?? `${stack.name}/${id}`,
          functionName,
          alarms: watched.get(functionName) ?? {},
        };
      }),
  );
}

/** "path: what is missing" for each function that lacks a required alarm and is not listed as going without. */
export function missingAlarms(functions: readonly FunctionAlarms[], monitoringStack: string): string[] {
  return functions.flatMap((f) => {
    if (UNALARMED_FUNCTIONS.some((u) => u.path.test(f.path))) return [];
    const missing = REQUIRED_METRICS.filter((m) => !(f.alarms[m] ?? []).some((a) => a.startsWith(`${monitoringStack}/`)));
    return missing.length === 0
      ? []
      : [
          `${f.path} (function ${f.functionName}) has no ${missing.join(' or ')} alarm in ${monitoringStack}: ` +
            "pass the function to the Monitoring stack (MonitoringStack's functions, from its stack's `functions`), or, if it runs only inside a deploy, " +
            'list it with why in UNALARMED_FUNCTIONS (test/support/function-alarms.ts) and docs/monitoring.md',
        ];
  });
}
