/**
 * The drift check's two functions on their own: the window a scheduled time reads (every capture file by exactly
 * one run, across days and years), and the metrics publisher's refusals (a report outside the check's prefix, a
 * drift.json that is not what `monitor` writes), with moto_server as S3 and CloudWatch.
 */
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'fs';
import * as path from 'path';

import { DriftReportError, readDriftReport } from '../constructs/drift/runtime/drift-metrics';
import { driftWindow, DriftWindowRequest } from '../constructs/drift/runtime/drift-window';
import { MotoServer, startMoto } from './support/moto-server';

const REQUEST: DriftWindowRequest = {
  time: '2026-03-01T14:05:00Z',
  executionName: 'e1',
  schedule: 'hourly',
  bucket: 'b',
  capturePrefix: 'capture/ep/AllTraffic/',
  reportPrefix: 'drift-reports/',
  jobNamePrefix: 'dlplatform-serving-drift',
};

describe('the window of a run', () => {
  test("an hourly run reads the last whole hour's folder", () => {
    expect(driftWindow(REQUEST)).toEqual({
      start: '2026-03-01T13:00:00.000Z',
      end: '2026-03-01T14:00:00.000Z',
      captureKeyPrefix: 'capture/ep/AllTraffic/2026/03/01/13/',
      captureUri: 's3://b/capture/ep/AllTraffic/2026/03/01/13/',
      jobName: expect.stringMatching(/^dlplatform-serving-drift-2026030113-[0-9a-f]{8}$/),
      reportUri: expect.stringMatching(/^s3:\/\/b\/drift-reports\/dlplatform-serving-drift-2026030113-[0-9a-f]{8}\/drift\/$/),
      reportKey: expect.stringMatching(/^drift-reports\/dlplatform-serving-drift-2026030113-[0-9a-f]{8}\/drift\/drift\.json$/),
    });
  });

  test('the run after midnight on New Year reads the last hour of the old year; a daily run its whole last day', () => {
    expect(driftWindow({ ...REQUEST, time: '2027-01-01T00:05:00Z' }).captureKeyPrefix).toBe('capture/ep/AllTraffic/2026/12/31/23/');
    const daily = driftWindow({ ...REQUEST, time: '2027-01-01T00:05:00Z', schedule: 'daily' });
    expect([daily.captureKeyPrefix, daily.start, daily.end]).toEqual([
      'capture/ep/AllTraffic/2026/12/31/',
      '2026-12-31T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
  });

  test('consecutive hourly runs read consecutive folders, each once; a retry gets a job name of its own', () => {
    const folders = Array.from(
      { length: 48 },
      (_, h) => driftWindow({ ...REQUEST, time: new Date(Date.UTC(2026, 1, 28, h, 5)).toISOString() }).captureKeyPrefix,
    );
    expect(new Set(folders).size).toBe(48);
    expect(driftWindow({ ...REQUEST, executionName: 'e2' }).jobName).not.toBe(driftWindow(REQUEST).jobName);
    expect(driftWindow(REQUEST).jobName.length).toBeLessThanOrEqual(63);
  });

  test.each([
    [{ time: 'yesterday' }, /ISO-8601/],
    [{ schedule: 'weekly' }, /hourly, daily/],
    [{ jobNamePrefix: 'bad_name' }, /jobNamePrefix/],
  ])('refuses %p', (change, message) => {
    expect(() => driftWindow({ ...REQUEST, ...change } as DriftWindowRequest)).toThrow(message);
  });
});

describe('the drift.json a run publishes', () => {
  const fixture = fs.readFileSync(path.join(__dirname, 'fixtures', 'drift-report.json'), 'utf8');

  test('reads the status and every metric of a report monitor wrote', () => {
    const report = JSON.parse(fixture);
    expect(readDriftReport(fixture)).toEqual({ status: report.status, metrics: report.metrics });
  });

  test.each([
    ['not JSON', 'nope', /not JSON/],
    ['another schema version', JSON.stringify({ schema_version: 2, status: 'ok', metrics: {} }), /schema_version 2/],
    ['an unknown metric', JSON.stringify({ schema_version: 1, status: 'ok', metrics: { Drift: 1 } }), /metric "Drift"/],
    ['a metric that is not a number', JSON.stringify({ schema_version: 1, status: 'ok', metrics: { Records: '3' } }), /Records is "3"/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => readDriftReport(text)).toThrow(DriftReportError);
    expect(() => readDriftReport(text)).toThrow(message);
  });

  describe('the publisher, against moto', () => {
    let moto: MotoServer;
    const savedEnv = { ...process.env };
    let handler: (event: unknown) => Promise<unknown>;

    beforeAll(async () => {
      moto = await startMoto();
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_S3: moto.endpoint,
        AWS_ENDPOINT_URL_CLOUDWATCH: moto.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NAMESPACE: 'Test/Drift',
        REPORT_BUCKET: 'reports',
        REPORT_PREFIX: 'drift-reports/',
      });
      const s3 = new S3Client({ forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: 'reports', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      await s3.send(new PutObjectCommand({ Bucket: 'reports', Key: 'drift-reports/j-1/drift/drift.json', Body: '{"schema_version": 1}' }));
      await s3.send(new PutObjectCommand({ Bucket: 'reports', Key: 'capture/ep/AllTraffic/2026/03/01/13/x/drift.json', Body: fixture }));
      s3.destroy();
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        handler = require('../constructs/drift/runtime/drift-metrics.handler').handler;
      });
    });

    afterAll(async () => {
      await moto?.stop();
      process.env = savedEnv;
    });

    test("reads nothing outside the check's reports, fails on a bad report, and publishes nothing then", async () => {
      const event = { bucket: 'reports', endpointName: 'ep', variantName: 'AllTraffic' };
      await expect(handler({ ...event, key: 'capture/ep/AllTraffic/2026/03/01/13/x/drift.json' })).rejects.toThrow(
        /drift-reports\/\.\.\.\/drift\.json only/,
      );
      await expect(handler({ ...event, bucket: 'other', key: 'drift-reports/j-1/drift/drift.json' })).rejects.toThrow(/only/);
      await expect(handler({ ...event, key: 'drift-reports/j-1/drift/drift.json' })).rejects.toThrow(/no status/);
      await expect(handler({ ...event, endpointName: '', key: 'drift-reports/j-1/drift/drift.json' })).rejects.toThrow(/endpointName/);
      const cloudwatch = new CloudWatchClient({});
      expect((await cloudwatch.send(new ListMetricsCommand({ Namespace: 'Test/Drift' }))).Metrics).toEqual([]);
      cloudwatch.destroy();
    });
  });
});
