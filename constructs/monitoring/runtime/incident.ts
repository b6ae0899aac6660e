/**
 * Turns the two events the alarm responder receives into one incident record. Pure: no I/O, no clock, so the
 * same delivery always gives the same record (and the same dedupe key).
 *
 * - The CloudWatch alarm Lambda-action event: `{ source: 'aws.cloudwatch', alarmArn, accountId, time, region,
 *   alarmData: { alarmName, state, previousState, configuration: { description, metrics } } }`.
 * - The EventBridge "SageMaker Training Job State Change" event.
 *
 * Events arrive from outside the code's control, so every field is checked; a malformed event gives a reason,
 * never a TypeError.
 */
import { createHash } from 'crypto';

import { RUNBOOK_PREFIX, RUNBOOK_SECTIONS, runbookLink } from './runbook';

/** One incident: what changed, on what, how bad, and where to look. */
export interface Incident {
  /** Stable id derived from the dedupe key: the same state change always has the same id. */
  readonly incidentId: string;
  /** What makes two deliveries the same incident. */
  readonly dedupeKey: string;
  readonly source: 'cloudwatch-alarm' | 'sagemaker-training-job';
  /** `triggered` for ALARM or a failed job, `resolved` for OK, `insufficient-data` otherwise. */
  readonly status: 'triggered' | 'resolved' | 'insufficient-data';
  /** One line for humans (chat webhooks show it as the message). */
  readonly summary: string;
  readonly account: string;
  readonly region: string;
  readonly state: {
    readonly current: string;
    readonly previous?: string;
    readonly reason: string;
    readonly changedAt: string;
  };
  readonly alarm?: { readonly name: string; readonly arn: string; readonly description?: string };
  readonly metric?: {
    readonly namespace: string;
    readonly name: string;
    readonly stat?: string;
    readonly periodSeconds?: number;
    readonly dimensions: Readonly<Record<string, string>>;
  };
  /** The alarm threshold and the datapoints that crossed it (from the state's reasonData). */
  readonly threshold?: number;
  readonly recentDatapoints?: readonly number[];
  readonly resource: { readonly type: string; readonly name: string; readonly arn?: string };
  readonly links: { readonly console: string; readonly runbook: string };
}

export type ParseResult = { readonly ok: true; readonly incident: Incident } | { readonly ok: false; readonly reason: string };

/** Where the runbook lives: incidents without a section in their alarm description link to it. */
export interface IncidentOptions {
  readonly runbookUrl: string;
}

type Obj = Record<string, unknown>;

class Malformed extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new Malformed(`${where}.${key} must be a non-empty string`);
  return v;
}

function optStr(o: Obj, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (!isObj(v)) throw new Malformed(`${where}.${key} must be an object`);
  return v;
}

/** Builds the incident for an event, or says why the event is not one this responder handles. */
export function parseIncident(event: unknown, options: IncidentOptions): ParseResult {
  try {
    if (!isObj(event)) throw new Malformed('the event must be a JSON object');
    if (event.source === 'aws.cloudwatch') return { ok: true, incident: fromAlarm(event, options) };
    if (event.source === 'aws.sagemaker') return { ok: true, incident: fromTrainingJob(event, options) };
    throw new Malformed(`unsupported event source ${JSON.stringify(event.source ?? null)}`);
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: e.message };
    throw e;
  }
}

const ALARM_STATES = ['ALARM', 'OK', 'INSUFFICIENT_DATA'];

function fromAlarm(event: Obj, options: IncidentOptions): Incident {
  const alarmArn = str(event, 'alarmArn', 'event');
  if (!/^arn:aws[a-z-]*:cloudwatch:/.test(alarmArn)) throw new Malformed('event.alarmArn must be a CloudWatch alarm ARN');
  const region = str(event, 'region', 'event');
  const account = str(event, 'accountId', 'event');
  const data = obj(event, 'alarmData', 'event');
  const alarmName = str(data, 'alarmName', 'alarmData');
  const state = obj(data, 'state', 'alarmData');
  const current = str(state, 'value', 'alarmData.state');
  if (!ALARM_STATES.includes(current)) throw new Malformed(`alarmData.state.value must be one of ${ALARM_STATES.join(', ')}`);
  const changedAt = str(state, 'timestamp', 'alarmData.state');
  const previous = isObj(data.previousState) ? optStr(data.previousState, 'value') : undefined;
  const configuration = isObj(data.configuration) ? data.configuration : {};
  const description = optStr(configuration, 'description');
  const metric = firstMetric(configuration.metrics);
  const reasonData = parseReasonData(state.reasonData);
  const reason = optStr(state, 'reason') ?? '';

  // CloudWatch invokes the action once per state change, but Lambda's async delivery is at least once:
  // a redelivery carries the same alarm ARN and state timestamp, a new state change a new timestamp.
  const dedupeKey = `alarm|${alarmArn}|${current}|${changedAt}`;
  const status = current === 'ALARM' ? 'triggered' : current === 'OK' ? 'resolved' : 'insufficient-data';
  return {
    incidentId: idOf(dedupeKey),
    dedupeKey,
    source: 'cloudwatch-alarm',
    status,
    summary: `${current}: ${alarmName}${previous ? ` (was ${previous})` : ''}${reason ? ` - ${reason}` : ''}`,
    account,
    region,
    state: { current, previous, reason, changedAt },
    alarm: { name: alarmName, arn: alarmArn, description },
    metric,
    threshold: reasonData.threshold,
    recentDatapoints: reasonData.recentDatapoints,
    resource: resourceOf(metric?.dimensions ?? {}, alarmName),
    links: {
      console: `${consoleBase(region)}/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`,
      runbook: runbookFromDescription(description) ?? options.runbookUrl,
    },
  };
}

function fromTrainingJob(event: Obj, options: IncidentOptions): Incident {
  const detailType = str(event, 'detail-type', 'event');
  if (detailType !== 'SageMaker Training Job State Change') throw new Malformed(`unsupported SageMaker event "${detailType}"`);
  const region = str(event, 'region', 'event');
  const account = str(event, 'account', 'event');
  const time = str(event, 'time', 'event');
  const detail = obj(event, 'detail', 'event');
  const jobName = str(detail, 'TrainingJobName', 'detail');
  const jobStatus = str(detail, 'TrainingJobStatus', 'detail');
  const jobArn = optStr(detail, 'TrainingJobArn');
  const reason = optStr(detail, 'FailureReason') ?? optStr(detail, 'SecondaryStatus') ?? '';

  // SageMaker may send several events (each with its own id) for one state change, so the key is the job and
  // its status, not the event id: a job fails once.
  const dedupeKey = `training-job|${jobArn ?? jobName}|${jobStatus}`;
  return {
    incidentId: idOf(dedupeKey),
    dedupeKey,
    source: 'sagemaker-training-job',
    status: jobStatus === 'Failed' ? 'triggered' : jobStatus === 'Completed' ? 'resolved' : 'insufficient-data',
    summary: `Training job ${jobName} ${jobStatus}${reason ? `: ${reason}` : ''}`,
    account,
    region,
    state: { current: jobStatus, reason, changedAt: time },
    resource: { type: 'sagemaker-training-job', name: jobName, arn: jobArn },
    links: {
      console: `${consoleBase(region)}/sagemaker/home?region=${region}#/jobs/${encodeURIComponent(jobName)}`,
      runbook: runbookLink(options.runbookUrl, RUNBOOK_SECTIONS.trainingFailed),
    },
  };
}

/** The alarm's metric (the first one that returns data; math-expression alarms name no single metric). */
function firstMetric(metrics: unknown): Incident['metric'] {
  if (!Array.isArray(metrics)) return undefined;
  for (const m of metrics) {
    if (!isObj(m) || !isObj(m.metricStat) || !isObj(m.metricStat.metric)) continue;
    const stat = m.metricStat;
    const metric = m.metricStat.metric as Obj;
    const namespace = optStr(metric, 'namespace');
    const name = optStr(metric, 'name');
    if (!namespace || !name) continue;
    const dimensions: Record<string, string> = {};
    if (isObj(metric.dimensions)) {
      for (const [k, v] of Object.entries(metric.dimensions)) if (typeof v === 'string') dimensions[k] = v;
    }
    return {
      namespace,
      name,
      stat: optStr(stat, 'stat'),
      periodSeconds: typeof stat.period === 'number' ? stat.period : undefined,
      dimensions,
    };
  }
  return undefined;
}

/** reasonData is a JSON string; it holds the threshold and the datapoints that were evaluated. */
function parseReasonData(raw: unknown): { threshold?: number; recentDatapoints?: number[] } {
  if (typeof raw !== 'string') return {};
  try {
    const data: unknown = JSON.parse(raw);
    if (!isObj(data)) return {};
    return {
      threshold: typeof data.threshold === 'number' ? data.threshold : undefined,
      recentDatapoints: Array.isArray(data.recentDatapoints)
        ? data.recentDatapoints.filter((d): d is number => typeof d === 'number')
        : undefined,
    };
  } catch {
    return {};
  }
}

function resourceOf(d: Readonly<Record<string, string>>, alarmName: string): Incident['resource'] {
  if (d.EndpointName) return { type: 'sagemaker-endpoint', name: d.VariantName ? `${d.EndpointName}/${d.VariantName}` : d.EndpointName };
  if (d.ApiName) return { type: 'api-gateway-rest-api', name: d.Stage ? `${d.ApiName}/${d.Stage}` : d.ApiName };
  if (d.FunctionName) return { type: 'lambda-function', name: d.FunctionName };
  if (d.WebACL) return { type: 'waf-web-acl', name: d.WebACL };
  return { type: 'cloudwatch-alarm', name: alarmName };
}

function runbookFromDescription(description: string | undefined): string | undefined {
  const line = description?.split('\n').find((l) => l.startsWith(RUNBOOK_PREFIX));
  return line ? line.slice(RUNBOOK_PREFIX.length).trim() || undefined : undefined;
}

function consoleBase(region: string): string {
  return region.startsWith('cn-') ? `https://${region}.console.amazonaws.cn` : `https://${region}.console.aws.amazon.com`;
}

function idOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 20);
}
