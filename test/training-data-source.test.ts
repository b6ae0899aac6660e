import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as path from 'path';

import { trainingDataSource, TrainingDataSourceProps } from '../constructs/training/training-data-source';
import { contextWith } from './support/platform';

const SAMPLE_DIR = path.join(__dirname, '..', 'training-image', 'sample-data');

function source(overrides: Partial<TrainingDataSourceProps> = {}) {
  const stack = new Stack(new App({ context: contextWith() }), 'Test');
  const bucket = new s3.Bucket(stack, 'Data');
  const data = trainingDataSource(stack, {
    version: 'v1',
    channels: ['train', 'test'],
    sample: { bucket, directory: SAMPLE_DIR, prefix: 'datasets/digits/' },
    ...overrides,
  });
  return { stack, bucket, data };
}

describe('trainingDataSource', () => {
  test('without a source URI: the bundled sample, uploaded under the versioned prefix, its digest in the version', () => {
    const { stack, bucket, data } = source();
    expect(data.bucket).toBe(bucket);
    expect(data.prefix).toBe('datasets/digits/v1/');
    expect(data.version).toMatch(/^v1\+[0-9a-f]{12}$/);
    expect(data.upload).toBeDefined();
    expect(stack.node.tryFindChild('SampleData')).toBeDefined();
  });

  test("with a source URI: the user's bucket and prefix, nothing uploaded", () => {
    const { stack, data } = source({ sourceUri: 's3://my-datasets/digits/2024' });
    expect(data.bucket.bucketName).toBe('my-datasets');
    expect(data.prefix).toBe('digits/2024/');
    expect(data.version).toBe('v1');
    expect(data.upload).toBeUndefined();
    expect(stack.node.tryFindChild('SampleData')).toBeUndefined();
  });

  test("with a source URI of one CSV file: that file's key, not a folder of that name", () => {
    const { data } = source({ sourceUri: 's3://my-datasets/digits/raw.CSV' });
    expect(data.bucket.bucketName).toBe('my-datasets');
    expect(data.prefix).toBe('digits/raw.CSV');
  });

  test('refuses a source that is not an S3 URI, naming it', () => {
    expect(() => source({ sourceUri: 'https://example.com/data' })).toThrow(
      'trainingDataSource in Test: invalid sourceUri "https://example.com/data"; allowed: an S3 URI (s3://bucket/prefix/)',
    );
  });
});
