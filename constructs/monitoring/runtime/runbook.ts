/**
 * The sections of docs/runbook.md, one per alarm. Alarms put the link to their section in their description,
 * the responder copies it into the incident, and a test proves every anchor here is a heading of the runbook.
 */
export const RUNBOOK_SECTIONS = {
  endpoint5xx: 'endpoint-5xx-errors',
  endpoint4xx: 'endpoint-4xx-errors',
  modelLatency: 'endpoint-model-latency',
  cpuUtilization: 'endpoint-cpu-utilisation',
  gpuUtilization: 'endpoint-gpu-utilisation',
  memoryUtilization: 'endpoint-memory-utilisation',
  gpuMemoryUtilization: 'endpoint-gpu-memory-utilisation',
  api5xx: 'api-5xx-errors',
  apiLatency: 'api-latency',
  lambdaErrors: 'lambda-errors',
  lambdaThrottles: 'lambda-throttles',
  wafBlocked: 'waf-blocked-requests',
  trainingFailed: 'training-job-failed',
  approvalUndelivered: 'model-approval-undelivered',
  driftFeatures: 'drift-features',
  driftPrediction: 'drift-prediction',
  driftInvalidInput: 'drift-invalid-input',
  driftCheckFailed: 'drift-check-failed',
  retrainingFailed: 'retraining-run-failed',
  rolloutFailed: 'rollout-failed',
} as const;

export type RunbookSection = (typeof RUNBOOK_SECTIONS)[keyof typeof RUNBOOK_SECTIONS];

/** The link to one section of the runbook at `base` (a URL or a repository path such as docs/runbook.md). */
export function runbookLink(base: string, section: RunbookSection): string {
  return `${base.replace(/#.*$/, '')}#${section}`;
}

/** The line alarms end their description with; the responder reads the link back from it. */
export const RUNBOOK_PREFIX = 'Runbook: ';
