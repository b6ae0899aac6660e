import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

import { driftMetric } from '../drift/drift-check';
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
import { RUNBOOK_PREFIX, RUNBOOK_SECTIONS, runbookLink, RunbookSection } from './runtime/runbook';

/** Alarm thresholds. Counts are per 5 minutes; utilisation is SageMaker's (100 per core or GPU, summed). */
export interface AlarmThresholds {
  /** @default 5 */
  readonly endpoint5xxCount?: number;
  /** @default 50 */
  readonly endpoint4xxCount?: number;
  /** p99 of the time the model container takes to answer. @default Duration.millis(1000) */
  readonly modelLatencyP99?: Duration;
  /** Watched on CPU endpoints. @default 80 */
  readonly cpuUtilizationPercent?: number;
  /** Watched on GPU endpoints. @default 80 */
  readonly gpuUtilizationPercent?: number;
  /** @default 85 */
  readonly memoryUtilizationPercent?: number;
  /** Watched on GPU endpoints. @default 85 */
  readonly gpuMemoryUtilizationPercent?: number;
  /** @default 5 */
  readonly api5xxCount?: number;
  /** p99 of the API's end-to-end latency. @default Duration.millis(3000) */
  readonly apiLatencyP99?: Duration;
  /** @default 500 */
  readonly wafBlockedCount?: number;
  /** Errors of any one function. @default 1 */
  readonly lambdaErrorCount?: number;
  /** Throttled invocations of any one function. @default 1 */
  readonly lambdaThrottleCount?: number;
  /** Population stability index of the predicted class that fires the prediction drift alarm. @default 0.25 */
  readonly predictionDrift?: number;
  /** Share of a drift window's records the model could not take. @default 0.05 */
  readonly invalidInputRate?: number;
}

/** What the drift check publishes, and how to see that it ran (constructs/drift/drift-check.ts). */
export interface DriftRef {
  /** Namespace of the drift metrics. */
  readonly namespace: string;
  /** The endpoint the metrics are dimensioned by. */
  readonly endpointName: string;
  /** Its production variant. */
  readonly variantName: string;
  /** One window: a check publishes once per window, so the alarms look at one window at a time. */
  readonly window: Duration;
  /** Failed runs of the check's state machine. */
  readonly failedRuns: cloudwatch.IMetric;
}

/** Properties of {@link PlatformAlarms}. Each part is optional: alarms are made for the parts given. */
export interface PlatformAlarmsProps {
  /**
   * The inference endpoint's variant: 5XX, 4XX, model latency p99, utilisation and memory alarms.
   * @default - no endpoint alarms
   */
  readonly endpoint?: EndpointRef;
  /**
   * The inference API's stage: 5XX and latency p99 alarms.
   * @default - no API alarms
   */
  readonly api?: ApiRef;
  /**
   * The API's web ACL: a blocked-requests spike alarm.
   * @default - no WAF alarm
   */
  readonly webAcl?: WebAclRef;
  /**
   * Training-failure events no target took (a dead-letter queue's visible messages): alarms at one.
   * @default - no such alarm
   */
  readonly undeliveredTrainingEvents?: cloudwatch.IMetric;
  /**
   * Rollouts after an approval that failed or timed out (the rollout reconciler's executions): alarms at one.
   * @default - no such alarm
   */
  readonly failedRollouts?: cloudwatch.IMetric;
  /**
   * Model-approval events that started no rollout (the rollout reconciler's dead-letter queue's visible
   * messages): alarms at one.
   * @default - no such alarm
   */
  readonly undeliveredApprovalEvents?: cloudwatch.IMetric;
  /**
   * The drift check: drifted features, prediction drift, invalid inputs, and failed runs.
   * @default - no drift alarms
   */
  readonly drift?: DriftRef;
  /**
   * Failed or timed-out retraining runs (RetrainingPipeline.metricFailedRuns): alarms at one.
   * @default - no such alarm
   */
  readonly failedRetrainingRuns?: cloudwatch.IMetric;
  /**
   * Functions that each get an errors and a throttles alarm.
   * @default - none
   */
  readonly functions?: lambda.IFunction[];
  /**
   * Thresholds; unset ones take their defaults.
   * @default - the defaults of {@link AlarmThresholds}
   */
  readonly thresholds?: AlarmThresholds;
  /**
   * What happens when an alarm fires and when it recovers (each action runs on ALARM and on OK).
   * @default - no actions
   */
  readonly actions?: cloudwatch.IAlarmAction[];
  /**
   * Where the runbook lives; each alarm's description ends with the link to its section.
   * @default 'docs/runbook.md'
   */
  readonly runbookUrl?: string;
  /**
   * Start of every alarm name (an SNS topic policy can then admit exactly these alarms).
   * @default - the stack name
   */
  readonly alarmNamePrefix?: string;
}

interface AlarmSpec {
  readonly id: string;
  readonly section: RunbookSection;
  readonly name: string;
  readonly meaning: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly missing: cloudwatch.TreatMissingData;
}

const GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
// Error counts: no data means no traffic, hence no errors, so missing data is fine (NOT_BREACHING).
const COUNT = { comparison: GTE, evaluationPeriods: 1, datapointsToAlarm: 1, missing: cloudwatch.TreatMissingData.NOT_BREACHING };
// Latency: no requests means nothing to measure; MISSING lets the alarm say INSUFFICIENT_DATA instead of a
// made-up OK. Two of three periods, so one slow burst (a cold model, a big batch) does not page.
const LATENCY = { comparison: GT, evaluationPeriods: 3, datapointsToAlarm: 2, missing: cloudwatch.TreatMissingData.MISSING };
// Utilisation: sustained load is the signal (15 minutes). Missing data means no instance is reporting: a
// deployment or an outage, which the 5XX alarms cover; it is not evidence of high load.
const SUSTAINED = { comparison: GT, evaluationPeriods: 3, datapointsToAlarm: 3, missing: cloudwatch.TreatMissingData.MISSING };

/**
 * The platform's CloudWatch alarms: endpoint (5XX, 4XX, model latency p99, CPU or GPU utilisation, memory),
 * API (5XX, latency p99), WAF (blocked spike), undelivered training-failure and model-approval events, and
 * every given function (errors, throttles). Each alarm runs
 * the given actions on ALARM and on OK, is named `<prefix>-<runbook section>` and links its runbook section.
 */
export class PlatformAlarms extends Construct {
  /** Every alarm created. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The start of every alarm's name. */
  readonly alarmNamePrefix: string;
  /**
   * The alarms that say the served traffic drifted (features, predicted class): what a retraining workflow starts on.
   * Empty without `drift`.
   */
  readonly driftAlarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PlatformAlarmsProps) {
    super(scope, id);
    this.alarmNamePrefix = props.alarmNamePrefix ?? Stack.of(this).stackName;
    const t = props.thresholds ?? {};
    const specs: AlarmSpec[] = [];
    const { endpoint, api, webAcl } = props;

    if (endpoint) {
      const endpoint5xx = t.endpoint5xxCount ?? 5;
      const endpoint4xx = t.endpoint4xxCount ?? 50;
      const latency = t.modelLatencyP99 ?? Duration.millis(1000);
      specs.push(
        {
          id: 'Endpoint5xxErrors',
          section: RUNBOOK_SECTIONS.endpoint5xx,
          name: 'endpoint-5xx-errors',
          ...COUNT,
          meaning: `The endpoint answered ${endpoint5xx} or more invocations with a 5XX error in 5 minutes.`,
          metric: endpointMetric(endpoint, 'Invocation5XXErrors'),
          threshold: endpoint5xx,
        },
        {
          id: 'Endpoint4xxErrors',
          section: RUNBOOK_SECTIONS.endpoint4xx,
          name: 'endpoint-4xx-errors',
          ...COUNT,
          meaning: `The endpoint rejected ${endpoint4xx} or more invocations with a 4XX error in 5 minutes.`,
          metric: endpointMetric(endpoint, 'Invocation4XXErrors'),
          threshold: endpoint4xx,
        },
        {
          id: 'EndpointModelLatency',
          section: RUNBOOK_SECTIONS.modelLatency,
          name: 'endpoint-model-latency-p99',
          ...LATENCY,
          meaning: `The model's p99 latency was over ${latency.toMilliseconds()} ms in 2 of the last 3 5-minute periods.`,
          // ModelLatency is reported in microseconds.
          metric: endpointMetric(endpoint, 'ModelLatency', { statistic: 'p99' }),
          threshold: latency.toMilliseconds() * 1000,
        },
      );
      const memory = t.memoryUtilizationPercent ?? 85;
      if (endpoint.hasGpu) {
        const gpu = t.gpuUtilizationPercent ?? 80;
        const gpuMemory = t.gpuMemoryUtilizationPercent ?? 85;
        specs.push(
          {
            id: 'EndpointGpuUtilization',
            section: RUNBOOK_SECTIONS.gpuUtilization,
            name: 'endpoint-gpu-utilisation',
            ...SUSTAINED,
            meaning: `The endpoint instances' average GPU utilisation was over ${gpu} (100 per GPU) for 15 minutes.`,
            metric: endpointInstanceMetric(endpoint, 'GPUUtilization'),
            threshold: gpu,
          },
          {
            id: 'EndpointGpuMemoryUtilization',
            section: RUNBOOK_SECTIONS.gpuMemoryUtilization,
            name: 'endpoint-gpu-memory-utilisation',
            ...SUSTAINED,
            meaning: `The endpoint instances' average GPU memory utilisation was over ${gpuMemory} (100 per GPU) for 15 minutes.`,
            metric: endpointInstanceMetric(endpoint, 'GPUMemoryUtilization'),
            threshold: gpuMemory,
          },
        );
      } else {
        const cpu = t.cpuUtilizationPercent ?? 80;
        specs.push({
          id: 'EndpointCpuUtilization',
          section: RUNBOOK_SECTIONS.cpuUtilization,
          name: 'endpoint-cpu-utilisation',
          ...SUSTAINED,
          meaning: `The endpoint instances' average CPU utilisation was over ${cpu} (100 per vCPU) for 15 minutes.`,
          metric: endpointInstanceMetric(endpoint, 'CPUUtilization'),
          threshold: cpu,
        });
      }
      specs.push({
        id: 'EndpointMemoryUtilization',
        section: RUNBOOK_SECTIONS.memoryUtilization,
        name: 'endpoint-memory-utilisation',
        ...SUSTAINED,
        meaning: `The endpoint instances' average memory utilisation was over ${memory}% for 15 minutes.`,
        metric: endpointInstanceMetric(endpoint, 'MemoryUtilization'),
        threshold: memory,
      });
    }

    if (api) {
      const api5xx = t.api5xxCount ?? 5;
      const latency = t.apiLatencyP99 ?? Duration.millis(3000);
      specs.push(
        {
          id: 'Api5xxErrors',
          section: RUNBOOK_SECTIONS.api5xx,
          name: 'api-5xx-errors',
          ...COUNT,
          meaning: `The inference API answered ${api5xx} or more requests with a 5XX error in 5 minutes.`,
          metric: apiMetric(api, '5XXError'),
          threshold: api5xx,
        },
        {
          id: 'ApiLatency',
          section: RUNBOOK_SECTIONS.apiLatency,
          name: 'api-latency-p99',
          ...LATENCY,
          meaning: `The inference API's p99 latency was over ${latency.toMilliseconds()} ms in 2 of the last 3 5-minute periods.`,
          metric: apiMetric(api, 'Latency', { statistic: 'p99' }),
          threshold: latency.toMilliseconds(),
        },
      );
    }

    if (webAcl) {
      const blocked = t.wafBlockedCount ?? 500;
      specs.push({
        id: 'WafBlockedRequests',
        section: RUNBOOK_SECTIONS.wafBlocked,
        name: 'waf-blocked-requests',
        ...COUNT,
        meaning: `The web ACL blocked ${blocked} or more requests in 5 minutes: an attack, a misbehaving client or a rule that is too strict.`,
        metric: webAclMetric(webAcl, Stack.of(this).region, 'BlockedRequests'),
        threshold: blocked,
      });
    }

    if (props.undeliveredTrainingEvents) {
      specs.push({
        id: 'TrainingEventsUndelivered',
        section: RUNBOOK_SECTIONS.trainingFailed,
        name: 'training-events-undelivered',
        ...COUNT,
        meaning:
          "A training-failure event reached neither the responder nor the topic after EventBridge's retries: it waits in the dead-letter queue.",
        metric: props.undeliveredTrainingEvents,
        threshold: 1,
      });
    }

    if (props.undeliveredApprovalEvents) {
      specs.push({
        id: 'ApprovalEventsUndelivered',
        section: RUNBOOK_SECTIONS.approvalUndelivered,
        name: 'approval-events-undelivered',
        ...COUNT,
        meaning:
          "A model-approval event did not start the rollout after EventBridge's retries: it waits in the " +
          'dead-letter queue, and the endpoint keeps serving the version it served before.',
        metric: props.undeliveredApprovalEvents,
        threshold: 1,
      });
    }

    const driftIds = new Set<string>();
    if (props.drift) {
      const d = props.drift;
      const metric = (name: Parameters<typeof driftMetric>[1]) =>
        driftMetric(d.namespace, name, d.endpointName, d.variantName, { period: d.window });
      const predictionDrift = t.predictionDrift ?? 0.25;
      const invalid = t.invalidInputRate ?? 0.05;
      const window = d.window.toHumanString();
      // A window without enough records publishes no drift figure: missing data is no drift (NOT_BREACHING).
      const WINDOW = { comparison: GTE, evaluationPeriods: 1, datapointsToAlarm: 1, missing: cloudwatch.TreatMissingData.NOT_BREACHING };
      specs.push(
        {
          id: 'DriftedFeatures',
          section: RUNBOOK_SECTIONS.driftFeatures,
          name: 'drift-features',
          ...WINDOW,
          meaning: `One or more input features of the served traffic drifted from the model's training data in the last ${window} (population stability index at or above the drift threshold).`,
          metric: metric('DriftedFeatures'),
          threshold: 1,
        },
        {
          id: 'PredictionDrift',
          section: RUNBOOK_SECTIONS.driftPrediction,
          name: 'drift-prediction',
          ...WINDOW,
          meaning: `The model's predicted classes in the last ${window} drifted from its predictions on the test split (population stability index ${predictionDrift} or more).`,
          metric: metric('PredictionDrift'),
          threshold: predictionDrift,
        },
        {
          id: 'DriftInvalidInput',
          section: RUNBOOK_SECTIONS.driftInvalidInput,
          name: 'drift-invalid-input',
          ...WINDOW,
          meaning: `${Math.round(invalid * 1000) / 10}% or more of the records captured in the last ${window} were requests the model could not take.`,
          metric: metric('InvalidInputRate'),
          threshold: invalid,
        },
        {
          id: 'DriftCheckFailed',
          section: RUNBOOK_SECTIONS.driftCheckFailed,
          name: 'drift-check-failed',
          ...COUNT,
          meaning: "A run of the drift check failed: the window's drift figures were not published.",
          metric: d.failedRuns,
          threshold: 1,
        },
      );
      driftIds.add('DriftedFeatures').add('PredictionDrift');
    }
    if (props.failedRetrainingRuns) {
      specs.push({
        id: 'RetrainingRunsFailed',
        section: RUNBOOK_SECTIONS.retrainingFailed,
        name: 'retraining-runs-failed',
        ...COUNT,
        meaning:
          'A retraining run failed or timed out: no new model version was registered by it, and the endpoint keeps serving the approved one.',
        metric: props.failedRetrainingRuns,
        threshold: 1,
      });
    }
    if (props.failedRollouts) {
      specs.push({
        id: 'RolloutFailed',
        section: RUNBOOK_SECTIONS.rolloutFailed,
        name: 'rollout-failed',
        ...COUNT,
        meaning:
          'A rollout after a model approval failed or timed out: refused (the change set changes more than the model), ' +
          'rolled back (the version is now Rejected and the pointer restored), the serving stack stayed busy, or an error.',
        metric: props.failedRollouts,
        threshold: 1,
      });
    }

    const errors = t.lambdaErrorCount ?? 1;
    const throttles = t.lambdaThrottleCount ?? 1;
    for (const fn of props.functions ?? []) {
      const key = Names.uniqueId(fn);
      specs.push(
        {
          id: `LambdaErrors${key}`,
          section: RUNBOOK_SECTIONS.lambdaErrors,
          name: `lambda-errors-${fn.functionName}`,
          ...COUNT,
          meaning: `Function ${fn.functionName} failed ${errors} or more invocations in 5 minutes.`,
          metric: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
          threshold: errors,
        },
        {
          id: `LambdaThrottles${key}`,
          section: RUNBOOK_SECTIONS.lambdaThrottles,
          name: `lambda-throttles-${fn.functionName}`,
          ...COUNT,
          meaning: `Function ${fn.functionName} was throttled ${throttles} or more times in 5 minutes.`,
          metric: fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
          threshold: throttles,
        },
      );
    }

    const runbookUrl = props.runbookUrl ?? 'docs/runbook.md';
    for (const spec of specs) {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        alarmName: `${this.alarmNamePrefix}-${spec.name}`,
        alarmDescription: `${spec.meaning}\n${RUNBOOK_PREFIX}${runbookLink(runbookUrl, spec.section)}`,
        metric: spec.metric,
        threshold: spec.threshold,
        comparisonOperator: spec.comparison,
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData: spec.missing,
      });
      for (const action of props.actions ?? []) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      this.alarms.push(alarm);
      if (driftIds.has(spec.id)) this.driftAlarms.push(alarm);
    }
  }
}
