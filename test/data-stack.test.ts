import { Match, Template } from 'aws-cdk-lib/assertions';

import { buildTestPlatform, stableTemplate } from './support/platform';

describe('Data stack', () => {
  const { platform } = buildTestPlatform();
  const template = Template.fromStack(platform.data);
  const buckets = template.findResources('AWS::S3::Bucket');

  test('has one customer-managed KMS key with rotation, kept on stack delete', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('has exactly the data, model-artifact, capture and access-log buckets', () => {
    expect(
      Object.keys(buckets)
        .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(['AccessLogsBucket', 'CaptureBucket', 'DataBucket', 'ModelBucket']);
  });

  test.each(Object.keys(buckets))('bucket %s blocks public access, is versioned, retained and expires old versions', (id) => {
    const bucket = buckets[id];
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    // The capture bucket holds customer data: old versions go after a day (test/drift-check.test.ts).
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: id.startsWith('CaptureBucket') ? 1 : 90 },
        }),
      ]),
    );
  });

  test.each(['DataBucket', 'ModelBucket', 'CaptureBucket'])(
    '%s is encrypted with the platform key and logs access to the log bucket',
    (name) => {
      const [id] = Object.keys(buckets).filter((k) => k.startsWith(name));
      const props = buckets[id].Properties;
      expect(props.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
          },
        },
      ]);
      expect(props.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: expect.stringMatching(/^AccessLogsBucket/) },
        LogFilePrefix: `${name}/`,
      });
    },
  );

  test('the access-log bucket uses S3-managed encryption, as log delivery requires', () => {
    const [id] = Object.keys(buckets).filter((k) => k.startsWith('AccessLogsBucket'));
    expect(buckets[id].Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
  });

  test.each(Object.keys(buckets))('bucket %s denies requests without TLS 1.2', (id) => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      },
    });
  });

  test("noncurrentVersionExpirationDays sets the lifecycle of every bucket but the capture bucket's", () => {
    const t = Template.fromStack(buildTestPlatform({ noncurrentVersionExpirationDays: '30' }).platform.data);
    for (const [id, bucket] of Object.entries(t.findResources('AWS::S3::Bucket')).filter(([k]) => !k.startsWith('CaptureBucket'))) {
      expect(id).not.toMatch(/^CaptureBucket/);
      expect(bucket.Properties.LifecycleConfiguration.Rules[0].NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 30 });
    }
  });

  test('matches the snapshot', () => {
    expect(stableTemplate(platform.data)).toMatchSnapshot();
  });
});
