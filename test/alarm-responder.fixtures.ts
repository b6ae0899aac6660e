/**
 * Events in the shapes AWS delivers them (from the CloudWatch alarm Lambda-action payload and the EventBridge
 * SageMaker Training Job State Change examples), with this platform's names.
 */

export const ALARM_ARN = 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:DlPlatform-Monitoring-endpoint-5xx-errors';

/** A CloudWatch alarm Lambda action: the endpoint 5XX alarm going OK -> ALARM. */
export function alarmEvent(overrides: { state?: string; timestamp?: string; previous?: string } = {}) {
  return {
    source: 'aws.cloudwatch',
    alarmArn: ALARM_ARN,
    accountId: '123456789012',
    time: '2025-03-04T10:15:30.123+0000',
    region: 'eu-west-1',
    alarmData: {
      alarmName: 'DlPlatform-Monitoring-endpoint-5xx-errors',
      state: {
        value: overrides.state ?? 'ALARM',
        reason:
          'Threshold Crossed: 1 out of the last 1 datapoints [7.0 (04/03/25 10:10:00)] was greater than or equal to the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).',
        reasonData: JSON.stringify({
          version: '1.0',
          queryDate: '2025-03-04T10:15:30.120+0000',
          startDate: '2025-03-04T10:10:00.000+0000',
          statistic: 'Sum',
          period: 300,
          recentDatapoints: [7.0],
          threshold: 5.0,
          evaluatedDatapoints: [{ timestamp: '2025-03-04T10:10:00.000+0000', sampleCount: 5.0, value: 7.0 }],
        }),
        timestamp: overrides.timestamp ?? '2025-03-04T10:15:30.123+0000',
      },
      previousState: {
        value: overrides.previous ?? 'OK',
        reason:
          'Threshold Crossed: 1 out of the last 1 datapoints [0.0 (04/03/25 10:05:00)] was not greater than or equal to the threshold (5.0).',
        timestamp: '2025-03-04T09:00:00.000+0000',
      },
      configuration: {
        description:
          'The endpoint answered 5 or more invocations with a 5XX error in 5 minutes.\nRunbook: https://example.com/runbook.md#endpoint-5xx-errors',
        metrics: [
          {
            id: '4e0f4b2a-0000-4c6b-9a38-EXAMPLE5xx',
            metricStat: {
              metric: {
                namespace: 'AWS/SageMaker',
                name: 'Invocation5XXErrors',
                dimensions: { EndpointName: 'dlplatform-endpoint', VariantName: 'AllTraffic' },
              },
              period: 300,
              stat: 'Sum',
            },
            returnData: true,
          },
        ],
      },
    },
  };
}

/** EventBridge: a training job of this platform failed. */
export function trainingFailedEvent(id = '8b1a0c6e-3c5d-4a4f-9a61-0d3b7c2f1e11') {
  return {
    version: '0',
    id,
    'detail-type': 'SageMaker Training Job State Change',
    source: 'aws.sagemaker',
    account: '123456789012',
    time: '2025-03-04T11:00:00Z',
    region: 'eu-west-1',
    resources: ['arn:aws:sagemaker:eu-west-1:123456789012:training-job/dlplatform-train-3f9a2c1b'],
    detail: {
      TrainingJobName: 'dlplatform-train-3f9a2c1b',
      TrainingJobArn: 'arn:aws:sagemaker:eu-west-1:123456789012:training-job/dlplatform-train-3f9a2c1b',
      TrainingJobStatus: 'Failed',
      SecondaryStatus: 'Failed',
      FailureReason: 'AlgorithmError: test accuracy 0.91 is below the quality bar 0.95',
      AlgorithmSpecification: { TrainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:latest', TrainingInputMode: 'File' },
      ResourceConfig: { InstanceType: 'ml.p3.2xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
      CreationTime: 1741085400000,
      TrainingEndTime: 1741086000000,
    },
  };
}

/** Events the responder must reject without throwing, and why each is malformed. */
export const MALFORMED_EVENTS: [string, unknown][] = [
  ['null', null],
  ['a string', 'ALARM'],
  ['an array', [alarmEvent()]],
  ['an empty object', {}],
  ['an unknown source', { source: 'aws.ec2', detail: {} }],
  ['an alarm without alarmData', { ...alarmEvent(), alarmData: undefined }],
  ['an alarm whose alarmData is a string', { ...alarmEvent(), alarmData: 'ALARM' }],
  ['an alarm without a state', { ...alarmEvent(), alarmData: { alarmName: 'x' } }],
  ['an alarm with an unknown state value', alarmEvent({ state: 'ON_FIRE' })],
  ['an alarm without a state timestamp', { ...alarmEvent(), alarmData: { ...alarmEvent().alarmData, state: { value: 'ALARM' } } }],
  ['an alarm with a non-CloudWatch ARN', { ...alarmEvent(), alarmArn: 'arn:aws:sns:eu-west-1:123456789012:topic' }],
  ['another SageMaker event', { ...trainingFailedEvent(), 'detail-type': 'SageMaker Endpoint State Change' }],
  ['a training event without detail', { ...trainingFailedEvent(), detail: null }],
  ['a training event without a job name', { ...trainingFailedEvent(), detail: { TrainingJobStatus: 'Failed' } }],
];
