import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

import { acknowledgeWildcardResource } from '../private/nag-acknowledgements';
import { check, validateProps } from '../private/validation';

/** Properties of a {@link ModelArtifact}. */
export interface ModelArtifactProps {
  /** Bucket holding the artifact. */
  readonly bucket: s3.IBucket;

  /**
   * Key of the artifact (a gzipped tar archive, `.tar.gz`); known at synth so the grant names exactly it. A
   * key with `*` (e.g. `models/<job prefix>-*\/output/model.tar.gz`) is a pattern: the grant covers every
   * matching artifact, for a model that serves model package versions, each carrying its own artifact.
   */
  readonly key: string;

  /** Key that encrypts the artifact. */
  readonly encryptionKey: kms.IKey;

  /**
   * The artifact's S3 URI as the model receives it. A producer passes its own output here (e.g. the training
   * job's reported ModelDataUrl), so that a model that uses the artifact also waits for its producer.
   * @default - `s3://<bucket>/<key>`
   */
  readonly uri?: string;
}

/**
 * A model artifact in one S3 object, handed from the construct that makes it to the model that serves it.
 * When a SageMaker Model binds it (as @aws-cdk/aws-sagemaker-alpha's ModelData), it grants the model's role
 * read on exactly that object and decrypt on its key, and returns the URI: the consumer cannot get the
 * location and the permission out of step.
 */
export class ModelArtifact extends sagemaker.ModelData {
  /** The artifact's S3 URI. */
  readonly uri: string;

  constructor(private readonly props: ModelArtifactProps) {
    super();
    validateProps('ModelArtifact', [
      check('key', props.key, (k) => /^[^/].*\.tar\.gz$/.test(k), 'the key of a .tar.gz archive (no leading slash)'),
    ]);
    this.uri = props.uri ?? `s3://${props.bucket.bucketName}/${props.key}`;
  }

  /** The artifact object's ARN (for policies outside a model). */
  get objectArn(): string {
    return this.props.bucket.arnForObjects(this.props.key);
  }

  /** Grants `grantee` read on the artifact object alone and decrypt on its key. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.objectArn] });
    const principal = grantee.grantPrincipal;
    if (this.props.key.includes('*') && principal instanceof Construct) {
      acknowledgeWildcardResource(
        principal,
        this.objectArn,
        'A model that serves model package versions may serve any of them (a rollback serves an earlier one), so it reads the ' +
          "model.tar.gz of any of the platform's training jobs, and nothing else.",
      );
    }
    this.props.encryptionKey.grantDecrypt(grantee);
    return grant;
  }

  /** Called by the SageMaker Model that serves the artifact: grants its role read, returns the URI. */
  bind(_scope: Construct, model: sagemaker.IModel): sagemaker.ModelDataConfig {
    this.grantRead(model);
    return { uri: this.uri };
  }
}
