import { parseIncident } from '../constructs/monitoring/runtime/incident';
import { urlFromSecret } from '../constructs/monitoring/runtime/webhook';
import { ALARM_ARN, alarmEvent, MALFORMED_EVENTS, trainingFailedEvent } from './alarm-responder.fixtures';

const options = { runbookUrl: 'https://example.com/runbook.md' };

function incidentOf(event: unknown) {
  const result = parseIncident(event, options);
  if (!result.ok) throw new Error(`rejected: ${result.reason}`);
  return result.incident;
}

describe('incident record', () => {
  test('an alarm event becomes an incident with its state change, metric, threshold, resource and links', () => {
    const incident = incidentOf(alarmEvent());
    expect(incident).toMatchObject({
      source: 'cloudwatch-alarm',
      status: 'triggered',
      account: '123456789012',
      region: 'eu-west-1',
      state: { current: 'ALARM', previous: 'OK', changedAt: '2025-03-04T10:15:30.123+0000' },
      alarm: { name: 'DlPlatform-Monitoring-endpoint-5xx-errors', arn: ALARM_ARN },
      metric: {
        namespace: 'AWS/SageMaker',
        name: 'Invocation5XXErrors',
        stat: 'Sum',
        periodSeconds: 300,
        dimensions: { EndpointName: 'dlplatform-endpoint', VariantName: 'AllTraffic' },
      },
      threshold: 5,
      recentDatapoints: [7],
      resource: { type: 'sagemaker-endpoint', name: 'dlplatform-endpoint/AllTraffic' },
      links: {
        console:
          'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/DlPlatform-Monitoring-endpoint-5xx-errors',
        runbook: 'https://example.com/runbook.md#endpoint-5xx-errors',
      },
    });
    expect(incident.state.reason).toMatch(/^Threshold Crossed/);
    expect(incident.summary).toMatch(/^ALARM: DlPlatform-Monitoring-endpoint-5xx-errors \(was OK\)/);
  });

  test('the same state change gives the same id; a new state change a new one', () => {
    const a = incidentOf(alarmEvent());
    expect(incidentOf(alarmEvent()).incidentId).toBe(a.incidentId);
    expect(incidentOf(alarmEvent({ timestamp: '2025-03-04T11:15:30.000+0000' })).incidentId).not.toBe(a.incidentId);
    const ok = incidentOf(alarmEvent({ state: 'OK', previous: 'ALARM' }));
    expect(ok.incidentId).not.toBe(a.incidentId);
    expect(ok.status).toBe('resolved');
  });

  test('an alarm without a runbook line links to the runbook itself', () => {
    const event = alarmEvent();
    event.alarmData.configuration.description = 'no link here';
    expect(incidentOf(event).links.runbook).toBe('https://example.com/runbook.md');
  });

  test('a failed training job becomes an incident linking the job and the training runbook section', () => {
    const incident = incidentOf(trainingFailedEvent());
    expect(incident).toMatchObject({
      source: 'sagemaker-training-job',
      status: 'triggered',
      state: {
        current: 'Failed',
        reason: 'AlgorithmError: test accuracy 0.91 is below the quality bar 0.95',
        changedAt: '2025-03-04T11:00:00Z',
      },
      resource: { type: 'sagemaker-training-job', name: 'dlplatform-train-3f9a2c1b' },
      links: {
        console: 'https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/dlplatform-train-3f9a2c1b',
        runbook: 'https://example.com/runbook.md#training-job-failed',
      },
    });
  });

  test('two EventBridge events (different ids) for one job failure are one incident', () => {
    expect(incidentOf(trainingFailedEvent('id-1')).incidentId).toBe(incidentOf(trainingFailedEvent('id-2')).incidentId);
  });

  test('China regions link to the China console', () => {
    const event = { ...alarmEvent(), region: 'cn-north-1', alarmArn: 'arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a' };
    expect(incidentOf(event).links.console).toMatch(/^https:\/\/cn-north-1\.console\.amazonaws\.cn\//);
  });

  test.each(MALFORMED_EVENTS)('rejects %s with a reason instead of throwing', (_name, event) => {
    const result = parseIncident(event, options);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(/\S/);
  });

  test('a reasonData that is not JSON leaves the threshold out and keeps the rest', () => {
    const event = alarmEvent();
    event.alarmData.state.reasonData = '{not json';
    const incident = incidentOf(event);
    expect(incident.threshold).toBeUndefined();
    expect(incident.metric?.name).toBe('Invocation5XXErrors');
  });
});

describe('webhook URL from the secret', () => {
  test('accepts the URL itself or {"url": ...}', () => {
    expect(urlFromSecret('https://hooks.example.com/x')).toBe('https://hooks.example.com/x');
    expect(urlFromSecret(' {"url": "https://hooks.example.com/y"} ')).toBe('https://hooks.example.com/y');
  });

  test('refuses plain http except to this machine, and values that are no URL', () => {
    expect(() => urlFromSecret('http://hooks.example.com/x')).toThrow(/must use https/);
    expect(urlFromSecret('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(() => urlFromSecret('{"link": "https://x"}')).toThrow(/holds no URL/);
    expect(() => urlFromSecret(undefined)).toThrow(/holds no URL/);
  });
});
