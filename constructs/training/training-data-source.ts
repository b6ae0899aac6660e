import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import * as path from 'path';

import { check, validateProps } from '../private/validation';
import type { TrainingData } from './training-job-props';
import { SampleDataUpload } from './training-job-sample-data';

/** Where the bundled sample is and where it goes, for {@link trainingDataSource}. */
export interface SampleDataProps {
  /** Bucket the sample is uploaded to. */
  readonly bucket: s3.IBucket;
  /** Folder holding `<channel>.csv` for every channel. */
  readonly directory: string;
  /** Key prefix the sample goes under, before the version (e.g. `datasets/digits/`). */
  readonly prefix: string;
  /**
   * Key that encrypts the upload function's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/** Properties of {@link trainingDataSource}. */
export interface TrainingDataSourceProps {
  /**
   * The user's raw data: an S3 URI of one CSV file (`.csv`), or of a prefix holding CSV files or one folder
   * per channel (the prepare job reads either).
   * @default - the bundled sample, uploaded by this app
   */
  readonly sourceUri?: string;
  /** Version label of the data: part of the sample's key prefix and of the job's identity. */
  readonly version: string;
  /** Input channels; each is a folder (user data) or a `<channel>.csv` (sample). */
  readonly channels: string[];
  /** The bundled sample, used when `sourceUri` is not set. */
  readonly sample: SampleDataProps;
}

/**
 * The data a job starts from: the user's S3 file or prefix when `sourceUri` is set, otherwise the bundled sample
 * uploaded under `<prefix><version>/` (a SampleDataUpload with id `SampleData` in `scope`). The sample's content
 * digest joins the version, so an edited sample trains a new model even under the same version label.
 */
export function trainingDataSource(scope: Construct, props: TrainingDataSourceProps): TrainingData {
  if (props.sourceUri) {
    const uri = /^s3:\/\/([^/]+)\/?(.*)$/;
    validateProps(`trainingDataSource in ${scope.node.path}`, [
      check('sourceUri', props.sourceUri, (u) => uri.test(u), 'an S3 URI (s3://bucket/prefix/)'),
    ]);
    const [, bucketName, key] = uri.exec(props.sourceUri)!;
    // A .csv key is one file; anything else is a folder, so `data/2024` never also reads `data/2024-old/`.
    const prefix = key === '' || key.endsWith('/') || /\.csv$/i.test(key) ? key : `${key}/`;
    return { bucket: s3.Bucket.fromBucketName(scope, 'SourceData', bucketName), prefix, version: props.version, channels: props.channels };
  }
  const sample = new SampleDataUpload(scope, 'SampleData', {
    bucket: props.sample.bucket,
    prefix: `${props.sample.prefix}${props.version}/`,
    files: Object.fromEntries(props.channels.map((c) => [`${c}/${c}.csv`, path.join(props.sample.directory, `${c}.csv`)])),
    logEncryptionKey: props.sample.logEncryptionKey,
  });
  return {
    bucket: props.sample.bucket,
    prefix: sample.prefix,
    version: `${props.version}+${sample.digest}`,
    channels: props.channels,
    upload: sample.deployment,
  };
}
