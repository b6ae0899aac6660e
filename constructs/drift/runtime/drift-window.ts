/**
 * The drift check's window: which capture folder one scheduled run reads, and the names of its job and report.
 * SageMaker writes capture files under `<endpoint>/<variant>/yyyy/mm/dd/hh/` by the hour (UTC) they were written
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html), so a run reads the
 * folder of the last whole hour (or the day's folder): every capture file is read by exactly one run.
 */
import { createHash } from 'crypto';

/** How often the check runs: each run reads the previous whole hour, or the previous UTC day. */
export type DriftSchedule = 'hourly' | 'daily';
export const DRIFT_SCHEDULES: readonly DriftSchedule[] = ['hourly', 'daily'];

/** What the state machine passes the window function. */
export interface DriftWindowRequest {
  /** When the schedule fired (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`, ISO-8601 UTC). */
  readonly time: string;
  /** The execution's name: a retry of the same window gets a job name of its own. */
  readonly executionName: string;
  readonly schedule: DriftSchedule;
  /** Bucket of the capture files and the reports. */
  readonly bucket: string;
  /** The variant's capture prefix, `<capture prefix><endpoint>/<variant>/`. */
  readonly capturePrefix: string;
  /** Key prefix of the reports: each job's output goes to `<reportPrefix><job name>/drift/`. */
  readonly reportPrefix: string;
  /** Start of the job names (the execution role may run `<jobNamePrefix>-*` only). */
  readonly jobNamePrefix: string;
}

/** The window of one run. */
export interface DriftWindow {
  /** First hour of the window, ISO-8601 UTC. */
  readonly start: string;
  /** End of the window (exclusive), ISO-8601 UTC. */
  readonly end: string;
  /** Key prefix of the window's capture folder. */
  readonly captureKeyPrefix: string;
  /** `s3://` URI of that folder: the job's capture input. */
  readonly captureUri: string;
  /** `<jobNamePrefix>-<yyyymmddhh of the start>-<8 hex of the execution name>`, at most 63 characters. */
  readonly jobName: string;
  /** `s3://` URI the job writes drift.json and drift.html to. */
  readonly reportUri: string;
  /** Key of the window's drift.json. */
  readonly reportKey: string;
}

/**
 * Longest job name prefix: a processing job's name is at most 63 characters
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html), and the window adds 20.
 */
export const MAX_JOB_NAME_PREFIX = 63 - 20;

const HOUR_MS = 3_600_000;
const pad = (n: number) => String(n).padStart(2, '0');

/** The window a run fired at `request.time` reads; throws on a time that is not ISO-8601 or a bad request. */
export function driftWindow(request: DriftWindowRequest): DriftWindow {
  const fired = Date.parse(request.time);
  if (typeof request.time !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(request.time) || Number.isNaN(fired)) {
    throw new Error(`time must be an ISO-8601 time such as 2026-03-01T14:05:00Z, not ${JSON.stringify(request.time)}`);
  }
  if (!DRIFT_SCHEDULES.includes(request.schedule))
    throw new Error(`schedule must be one of ${DRIFT_SCHEDULES.join(', ')}, not ${JSON.stringify(request.schedule)}`);
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(request.jobNamePrefix) || request.jobNamePrefix.length > MAX_JOB_NAME_PREFIX) {
    throw new Error(
      `jobNamePrefix must be up to ${MAX_JOB_NAME_PREFIX} letters, digits and inner hyphens, not ${JSON.stringify(request.jobNamePrefix)}`,
    );
  }
  const span = request.schedule === 'hourly' ? HOUR_MS : 24 * HOUR_MS;
  // The last whole span before the fire time (a run at 14:05 reads 13:00 to 14:00).
  const end = Math.floor(fired / span) * span;
  const start = new Date(end - span);
  const day = `${start.getUTCFullYear()}/${pad(start.getUTCMonth() + 1)}/${pad(start.getUTCDate())}/`;
  const captureKeyPrefix = `${request.capturePrefix}${day}${request.schedule === 'hourly' ? `${pad(start.getUTCHours())}/` : ''}`;
  const stamp = `${start.getUTCFullYear()}${pad(start.getUTCMonth() + 1)}${pad(start.getUTCDate())}${pad(start.getUTCHours())}`;
  const attempt = createHash('sha256').update(String(request.executionName)).digest('hex').slice(0, 8);
  const jobName = `${request.jobNamePrefix}-${stamp}-${attempt}`;
  const reportFolder = `${request.reportPrefix}${jobName}/drift/`;
  return {
    start: start.toISOString(),
    end: new Date(end).toISOString(),
    captureKeyPrefix,
    captureUri: `s3://${request.bucket}/${captureKeyPrefix}`,
    jobName,
    reportUri: `s3://${request.bucket}/${reportFolder}`,
    reportKey: `${reportFolder}drift.json`,
  };
}
