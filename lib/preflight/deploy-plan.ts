/**
 * What the first deploy will ask of the account, read from what would be deployed: the synthesized cloud
 * assembly (the bootstrap version each stack and asset manifest requires, every function's reserved
 * concurrency as the templates set it) and the validated configuration (the SageMaker instance types and
 * counts the jobs and the endpoint run on).
 */
import * as fs from 'fs';
import * as path from 'path';

import { PlatformConfig } from '../config';

/** The bootstrap version the deploy requires, and where the bootstrap stack records the version it has. */
export interface BootstrapNeed {
  /** The SSM parameter the CDK CLI reads (`/cdk-bootstrap/<qualifier>/version`). */
  readonly parameter: string;
  /** The highest `requiresBootstrapStackVersion` of the stacks and asset manifests that read this parameter. */
  readonly version: number;
}

/** A Lambda function's reserved concurrency, as its template sets it. */
export interface Reservation {
  readonly stackName: string;
  readonly logicalId: string;
  /** The construct path (`aws:cdk:path`), or the logical id when the template has no path metadata. */
  readonly path: string;
  readonly reserved: number;
}

/** What the cloud assembly asks of the account. */
export interface AssemblyNeeds {
  readonly stackNames: readonly string[];
  readonly bootstrap: readonly BootstrapNeed[];
  readonly reservations: readonly Reservation[];
}

/** What the CDK CLI reads when an artifact names a version but not the parameter: the default qualifier's. */
const DEFAULT_BOOTSTRAP_PARAMETER = '/cdk-bootstrap/hnb659fds/version';

interface ManifestArtifact {
  readonly type: string;
  readonly properties?: {
    readonly templateFile?: string;
    readonly stackName?: string;
    readonly requiresBootstrapStackVersion?: number;
    readonly bootstrapStackVersionSsmParameter?: string;
    readonly directoryName?: string;
  };
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/**
 * Reads a cloud assembly directory (`cdk.out`): every stack (nested assemblies included), the bootstrap
 * versions its artifacts require, and the reserved concurrency of every `AWS::Lambda::Function`.
 * Manifest format: https://github.com/aws/aws-cdk-cli/tree/main/packages/@aws-cdk/cloud-assembly-schema
 * @throws when a reservation is not a plain number (an intrinsic the preflight cannot evaluate).
 */
export function readAssembly(dir: string): AssemblyNeeds {
  const stackNames: string[] = [];
  const versions = new Map<string, number>();
  const reservations: Reservation[] = [];
  const visit = (assemblyDir: string) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as {
      artifacts?: Record<string, ManifestArtifact>;
    };
    for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
      const props = artifact.properties ?? {};
      if (artifact.type === 'cdk:cloud-assembly' && props.directoryName) visit(path.join(assemblyDir, props.directoryName));
      if (
        (artifact.type === 'aws:cloudformation:stack' || artifact.type === 'cdk:asset-manifest') &&
        props.requiresBootstrapStackVersion !== undefined
      ) {
        const parameter = props.bootstrapStackVersionSsmParameter ?? DEFAULT_BOOTSTRAP_PARAMETER;
        versions.set(parameter, Math.max(versions.get(parameter) ?? 0, props.requiresBootstrapStackVersion));
      }
      if (artifact.type !== 'aws:cloudformation:stack' || !props.templateFile) continue;
      const stackName = props.stackName ?? id;
      stackNames.push(stackName);
      const template = JSON.parse(fs.readFileSync(path.join(assemblyDir, props.templateFile), 'utf8')) as {
        Resources?: Record<string, TemplateResource>;
      };
      for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
        const reserved = resource.Type === 'AWS::Lambda::Function' ? resource.Properties?.ReservedConcurrentExecutions : undefined;
        if (reserved === undefined) continue;
        if (typeof reserved !== 'number') {
          throw new Error(
            `${stackName}/${logicalId}: ReservedConcurrentExecutions is ${JSON.stringify(reserved)}, not a number the preflight can add up`,
          );
        }
        const cdkPath = resource.Metadata?.['aws:cdk:path'];
        reservations.push({ stackName, logicalId, path: typeof cdkPath === 'string' ? cdkPath : `${stackName}/${logicalId}`, reserved });
      }
    }
  };
  visit(dir);
  return { stackNames, bootstrap: [...versions].map(([parameter, version]) => ({ parameter, version })), reservations };
}

/** The SageMaker usages that have a per-instance-type quota, as Service Quotas names them. */
export type SageMakerUsage = 'training job' | 'spot training job' | 'processing job' | 'endpoint';

/** Instances of one type that one part of the platform runs at once. */
export interface InstanceNeed {
  readonly usage: SageMakerUsage;
  readonly instanceType: string;
  /** Instances the first deploy runs at once. */
  readonly count: number;
  /** Who runs them, for the report. */
  readonly purpose: string;
  /** The setting that picks the type. */
  readonly setting: keyof PlatformConfig;
  /** Larger counts a later deploy or autoscaling reaches, each with why; reported as notes, not problems. */
  readonly later: readonly { readonly count: number; readonly why: string }[];
}

/**
 * The SageMaker instances the configured platform runs. The prepare and evaluate Processing jobs run one
 * after the other (evaluate reads the trained model, training reads prepare's output), so they need one
 * instance between them. A blue/green endpoint update provisions the new fleet beside the old one before it
 * shifts traffic, so it needs twice the running count:
 * https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html
 */
export function instanceNeeds(c: PlatformConfig): InstanceNeed[] {
  return [
    {
      usage: c.trainingUseSpot ? 'spot training job' : 'training job',
      instanceType: c.trainingInstanceType,
      count: c.trainingInstanceCount,
      purpose: `the training job (${c.trainingUseSpot ? 'managed spot' : 'on demand'})`,
      setting: 'trainingInstanceType',
      later: [],
    },
    {
      usage: 'processing job',
      instanceType: c.prepareInstanceType,
      count: 1,
      purpose: 'each Processing job (prepare, then evaluate)',
      setting: 'prepareInstanceType',
      later: [],
    },
    {
      usage: 'endpoint',
      instanceType: c.servingInstanceType,
      count: c.servingMinCapacity,
      purpose: 'the endpoint',
      setting: 'servingInstanceType',
      later: [
        {
          count: 2 * c.servingMinCapacity,
          why: `the next model's blue/green update (a second fleet of ${c.servingMinCapacity} beside the first)`,
        },
        {
          count: 2 * c.servingMaxCapacity,
          why: `a blue/green update once autoscaling has reached servingMaxCapacity (${c.servingMaxCapacity})`,
        },
      ].filter((l, i, all) => l.count > c.servingMinCapacity && all.findIndex((o) => o.count === l.count) === i),
    },
  ];
}

/**
 * The Service Quotas name of a SageMaker instance quota, e.g. `ml.p3.2xlarge for spot training job usage`;
 * the names of the Amazon SageMaker quotas in the Service Quotas console, listed per account and region:
 * https://docs.aws.amazon.com/general/latest/gr/sagemaker.html#limits_sagemaker
 */
export function quotaName(need: Pick<InstanceNeed, 'instanceType' | 'usage'>): string {
  return `${need.instanceType} for ${need.usage} usage`;
}
