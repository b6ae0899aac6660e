import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { driftMetric } from '../drift/drift-check';
import type { DriftRef } from './platform-alarms';
import {
  apiMetric,
  ApiRef,
  endpointInstanceMetric,
  endpointMetric,
  EndpointRef,
  PERIOD,
  webAclMetric,
  WebAclRef,
} from './platform-metrics';

/** This platform's training jobs. */
export interface TrainingRef {
  /** Start of the training jobs' names. */
  readonly jobNamePrefix: string;
  /**
   * The rule that matches failed jobs (its TriggeredRules metric counts failures).
   * @default - no failures graph
   */
  readonly failureRule?: events.IRule;
}

/** The rollout after an approval (constructs/serving/rollout-reconciler.ts), as metrics and its log group. */
export interface RolloutRef {
  /** Rollouts that succeeded (rolled out, already served, nothing to change). */
  readonly succeeded: cloudwatch.IMetric;
  /** Rollouts that failed. */
  readonly failed: cloudwatch.IMetric;
  /** Rollouts that timed out. */
  readonly timedOut: cloudwatch.IMetric;
  /** Approval events that started no rollout. */
  readonly undeliveredApprovals: cloudwatch.IMetric;
  /** The state machine's log group: each execution's outcome and the version it served. */
  readonly logGroupName: string;
}

/** Properties of a {@link PlatformDashboard}. Each part is optional: the dashboard shows the parts given. */
export interface PlatformDashboardProps {
  /**
   * Name of the dashboard.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * The inference API's stage.
   * @default - no API row
   */
  readonly api?: ApiRef;
  /**
   * The inference endpoint's variant.
   * @default - no endpoint row
   */
  readonly endpoint?: EndpointRef;
  /**
   * The API's web ACL.
   * @default - no WAF graph
   */
  readonly webAcl?: WebAclRef;
  /**
   * The drift check's metrics.
   * @default - no drift row
   */
  readonly drift?: DriftRef;
  /**
   * The platform's Lambda functions.
   * @default - no Lambda row
   */
  readonly functions?: lambda.IFunction[];
  /**
   * The platform's training jobs.
   * @default - no training row
   */
  readonly training?: TrainingRef;
  /**
   * The retraining pipeline's state machine: its runs by outcome and their durations.
   * @default - no retraining row
   */
  readonly retraining?: sfn.IStateMachine;
  /**
   * The rollout after an approval: its outcomes and the served version.
   * @default - no rollout row
   */
  readonly rollout?: RolloutRef;
  /**
   * Alarms whose states the dashboard shows at the top.
   * @default - no alarm status widget
   */
  readonly alarms?: cloudwatch.IAlarm[];
  /**
   * Link to the runbook, shown in the header.
   * @default 'docs/runbook.md'
   */
  readonly runbookUrl?: string;
}

const WIDE = 12;
const THIRD = 8;
const HEIGHT = 6;

/**
 * One CloudWatch dashboard for the whole platform: alarm states, then the API (requests, errors, latency),
 * the endpoint (invocations, errors, model latency, utilisation), drift, WAF, the Lambda functions and training.
 */
export class PlatformDashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PlatformDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(6),
    });
    const d = this.dashboard;
    d.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown: `# Deep-learning platform\nAlarms invoke the responder Lambda and notify the alarm topic. What each alarm means and what to do: [runbook](${props.runbookUrl ?? 'docs/runbook.md'}).`,
      }),
    );
    if (props.alarms?.length) {
      d.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }));
    }

    const { api, endpoint, webAcl } = props;
    if (api) {
      d.addWidgets(
        graph(
          'API requests and errors (per 5 min)',
          [
            apiMetric(api, 'Count', { label: 'Requests' }),
            apiMetric(api, '4XXError', { label: '4XX' }),
            apiMetric(api, '5XXError', { label: '5XX' }),
          ],
          WIDE,
        ),
        graph(
          'API latency (ms)',
          [
            apiMetric(api, 'Latency', { statistic: 'p50', label: 'Latency p50' }),
            apiMetric(api, 'Latency', { statistic: 'p99', label: 'Latency p99' }),
            apiMetric(api, 'IntegrationLatency', { statistic: 'p99', label: 'Integration latency p99' }),
          ],
          WIDE,
        ),
      );
    }
    if (endpoint) {
      const utilisation = endpoint.hasGpu
        ? [
            endpointInstanceMetric(endpoint, 'GPUUtilization', { label: 'GPU' }),
            endpointInstanceMetric(endpoint, 'GPUMemoryUtilization', { label: 'GPU memory' }),
            endpointInstanceMetric(endpoint, 'CPUUtilization', { label: 'CPU' }),
          ]
        : [endpointInstanceMetric(endpoint, 'CPUUtilization', { label: 'CPU' })];
      d.addWidgets(
        graph(
          'Endpoint invocations and errors (per 5 min)',
          [
            endpointMetric(endpoint, 'Invocations', { label: 'Invocations' }),
            endpointMetric(endpoint, 'Invocation4XXErrors', { label: '4XX' }),
            endpointMetric(endpoint, 'Invocation5XXErrors', { label: '5XX' }),
          ],
          THIRD,
        ),
        graph(
          'Endpoint latency (µs)',
          [
            endpointMetric(endpoint, 'ModelLatency', { statistic: 'p50', label: 'Model latency p50' }),
            endpointMetric(endpoint, 'ModelLatency', { statistic: 'p99', label: 'Model latency p99' }),
            endpointMetric(endpoint, 'OverheadLatency', { statistic: 'p99', label: 'Overhead latency p99' }),
          ],
          THIRD,
        ),
        graph(
          'Endpoint utilisation (% per core or GPU, summed)',
          [
            ...utilisation,
            endpointInstanceMetric(endpoint, 'MemoryUtilization', { label: 'Memory' }),
            endpointInstanceMetric(endpoint, 'DiskUtilization', { label: 'Disk' }),
          ],
          THIRD,
        ),
      );
    }
    if (props.drift) {
      const { namespace, endpointName, variantName, window } = props.drift;
      const m = (name: Parameters<typeof driftMetric>[1], label: string) =>
        driftMetric(namespace, name, endpointName, variantName, { period: window, label });
      d.addWidgets(
        graph(
          'Drift: population stability index (per window)',
          [m('MaxFeatureDrift', 'Worst feature'), m('PredictionDrift', 'Predicted class')],
          THIRD,
        ),
        graph(
          'Drift: records and drifted features (per window)',
          [m('Records', 'Valid records'), m('DriftedFeatures', 'Drifted features')],
          THIRD,
        ),
        graph(
          'Drift: shares of the window (0 to 1)',
          [
            m('InvalidInputRate', 'Invalid inputs'),
            m('MaxMissingRate', 'Worst missing rate'),
            m('MaxOutOfRangeRate', 'Worst out-of-range rate'),
          ],
          THIRD,
        ),
      );
    }
    if (webAcl) {
      const region = Stack.of(this).region;
      d.addWidgets(
        graph(
          'WAF requests (per 5 min)',
          [
            webAclMetric(webAcl, region, 'AllowedRequests', { label: 'Allowed' }),
            webAclMetric(webAcl, region, 'BlockedRequests', { label: 'Blocked' }),
          ],
          24,
        ),
      );
    }

    const functions = props.functions ?? [];
    if (functions.length > 0) {
      const perFunction = (f: (fn: lambda.IFunction) => cloudwatch.IMetric) => functions.map(f);
      d.addWidgets(
        graph(
          'Lambda invocations (per 5 min)',
          perFunction((fn) => fn.metricInvocations({ period: PERIOD, statistic: 'Sum', label: fn.functionName })),
          THIRD,
        ),
        graph(
          'Lambda errors and throttles (per 5 min)',
          [
            ...perFunction((fn) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: `Errors ${fn.functionName}` })),
            ...perFunction((fn) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: `Throttles ${fn.functionName}` })),
          ],
          THIRD,
        ),
        graph(
          'Lambda duration p99 (ms)',
          perFunction((fn) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label: fn.functionName })),
          THIRD,
        ),
      );
    }

    if (props.rollout) {
      const r = props.rollout;
      d.addWidgets(
        graph(
          'Rollouts after approval',
          [
            withLabel(r.succeeded, 'Succeeded'),
            withLabel(r.failed, 'Failed'),
            withLabel(r.timedOut, 'Timed out'),
            withLabel(r.undeliveredApprovals, 'Approvals not delivered'),
          ],
          THIRD,
        ),
        // Each execution's output names its outcome and the version (ExecutionSucceeded's output; a failure's error).
        new cloudwatch.LogQueryWidget({
          title: 'Served version and rollout outcomes (newest first)',
          logGroupNames: [r.logGroupName],
          queryLines: [
            'filter type in ["ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"]',
            'fields @timestamp, type, coalesce(details.output, details.error) as outcome',
            'sort @timestamp desc',
            'limit 20',
          ],
          width: 24 - THIRD,
          height: HEIGHT,
        }),
      );
    }

    if (props.training) {
      const term = searchTerm(props.training.jobNamePrefix);
      const widgets: cloudwatch.IWidget[] = [];
      if (props.training.failureRule) {
        widgets.push(
          graph(
            'Training job failures',
            [
              new cloudwatch.Metric({
                namespace: 'AWS/Events',
                metricName: 'TriggeredRules',
                dimensionsMap: { RuleName: props.training.failureRule.ruleName },
                statistic: 'Sum',
                period: Duration.hours(1),
                label: 'Failed jobs (per hour)',
              }),
            ],
            THIRD,
          ),
        );
      }
      // Job names change with every model, so the graphs search for this platform's jobs instead of naming one.
      widgets.push(
        graph(
          'Training instance utilisation (%)',
          [
            search(
              `{/aws/sagemaker/TrainingJobs,Host} ${term} MetricName=("CPUUtilization" OR "GPUUtilization" OR "GPUMemoryUtilization")`,
              'Average',
              'Utilisation',
            ),
          ],
          THIRD,
        ),
        graph(
          'Training metrics (from the job logs)',
          [search(`{/aws/sagemaker/TrainingJobs,TrainingJobName} ${term}`, 'Maximum', 'Metrics')],
          THIRD,
        ),
      );
      d.addWidgets(...widgets);
    }

    if (props.retraining) {
      const sm = props.retraining;
      const hourly = { period: Duration.hours(1), statistic: 'Sum' };
      d.addWidgets(
        graph(
          'Retraining runs (per hour)',
          [
            sm.metricStarted({ ...hourly, label: 'Started' }),
            sm.metricSucceeded({ ...hourly, label: 'Ended (trained, unchanged or dropped)' }),
            sm.metricFailed({ ...hourly, label: 'Failed' }),
            sm.metricTimedOut({ ...hourly, label: 'Timed out' }),
          ],
          THIRD,
        ),
        graph(
          'Retraining run duration (minutes)',
          [
            new cloudwatch.MathExpression({
              expression: 'm / 60000',
              usingMetrics: { m: sm.metricTime({ period: Duration.hours(1), statistic: 'Maximum' }) },
              label: 'Longest run',
              period: Duration.hours(1),
            }),
          ],
          THIRD,
        ),
      );
    }
  }
}

function withLabel(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric ? metric.with({ label }) : metric;
}

function graph(title: string, left: cloudwatch.IMetric[], width: number): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width, height: HEIGHT, liveData: true });
}

function search(query: string, statistic: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('${query}', '${statistic}', ${PERIOD.toSeconds()})`,
    usingMetrics: {},
    label,
    period: PERIOD,
  });
}

/** A CloudWatch search term matching names that contain the prefix (quoted: it matches as a phrase). */
function searchTerm(prefix: string): string {
  return Token.isUnresolved(prefix) ? `"${prefix}"` : `"${prefix.replace(/[^A-Za-z0-9]+$/, '')}"`;
}
