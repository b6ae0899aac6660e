/**
 * constructs/sagemaker-rules.ts: each SageMaker rule no schema carries, as a pure function, at synth through
 * lib/config.ts (setting names) and through the constructs (prop names), fed the combinations that broke.
 */
import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { HOSTING_INSTANCE_TYPES, supportsVolumeKms, TRAINING_INSTANCE_TYPES } from '../constructs/instance-types';
import {
  gpuImageProblem,
  instanceTypeChangeProblem,
  instanceTypeSuffix,
  jobWaitProblem,
  RULE_SOURCES,
  spotWaitProblem,
  stepInstances,
  trafficShiftingProblem,
  volumeKmsProblem,
} from '../constructs/sagemaker-rules';
import { TrafficShifting } from '../constructs/serving/endpoint-deployment';
import { InferenceEndpoint, InferenceEndpointProps } from '../constructs/serving/inference-endpoint';
import { ModelArtifact } from '../constructs/training/model-artifact';
import { ConfigError, loadConfig } from '../lib/config';

const n = <T>(name: string, value: T) => ({ name, value });

function configError(context: Record<string, unknown>): string {
  try {
    loadConfig(context);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(context)} to be refused`);
}

function artifact(stack: Stack, key: string): ModelArtifact {
  return new ModelArtifact({
    bucket: s3.Bucket.fromBucketName(stack, `Bucket${key.length}`, 'bucket'),
    key,
    encryptionKey: kms.Key.fromKeyArn(stack, `ArtifactKey${key.length}`, 'arn:aws:kms:eu-west-1:123456789012:key/artifact'),
  });
}

function endpoint(props: Partial<InferenceEndpointProps> = {}, artifactKey?: string): { stack: Stack; endpoint: InferenceEndpoint } {
  const stack = new Stack(new App(), 'Test');
  const built = new InferenceEndpoint(stack, 'Endpoint', {
    image: sagemaker.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, 'Repo', 'model'), 'v1'),
    modelData: artifact(stack, artifactKey ?? 'jobs/job-1/output/model.tar.gz'),
    encryptionKey: new kms.Key(stack, 'Key'),
    ...props,
  });
  return { stack, endpoint: built };
}

describe('traffic shifting against the instance count (TrafficRoutingConfig)', () => {
  test('the old defaults (canary 10% with servingMinCapacity=1) are refused at synth, naming the setting and the page', () => {
    const message = configError({
      deploymentStrategy: 'canary',
      deploymentCanaryPercent: 10,
      servingMinCapacity: 1,
      servingMaxCapacity: 4,
    });
    expect(message).toBe(
      'Invalid setting "servingMinCapacity": 1; allowed: at least 2 with deploymentStrategy=canary: SageMaker allows the canary to be at most ' +
        "50% of the endpoint's instances, and the canary is at least one instance (100% of 1); or set deploymentStrategy=all-at-once, " +
        `which still bakes and rolls back on the alarms (see ${RULE_SOURCES.trafficRouting})`,
    );
  });

  test('linear with one instance is refused the same way', () => {
    expect(configError({ deploymentStrategy: 'linear', servingMinCapacity: 1 })).toMatch(
      /^Invalid setting "servingMinCapacity": 1; allowed: at least 2 with deploymentStrategy=linear: .*each linear step/,
    );
  });

  test('the new default, all at once, deploys with one instance; a canary is fine from two instances up', () => {
    expect(loadConfig({}).deploymentStrategy).toBe('all-at-once');
    expect(loadConfig({}).servingMinCapacity).toBe(1);
    expect(() => loadConfig({ deploymentStrategy: 'canary', servingMinCapacity: 2, servingMaxCapacity: 4 })).not.toThrow();
    expect(() =>
      loadConfig({ deploymentStrategy: 'linear', deploymentLinearStepPercent: 50, servingMinCapacity: 2, servingMaxCapacity: 2 }),
    ).not.toThrow();
  });

  test('a step that rounds up to more than half of some reachable instance count is refused, with the largest size that works', () => {
    // 50% of 3 instances rounds up to 2: more than half.
    expect(stepInstances(50, 3)).toBe(2);
    const problem = trafficShiftingProblem({
      mode: n('mode', 'linear' as const),
      percent: n('step', 50),
      minInstances: n('min', 2),
      maxInstances: n('max', 4),
    });
    expect(problem).toMatchObject({ setting: 'step', value: 50 });
    expect(problem!.allowed).toContain(
      'at most 33 that keeps each linear step within 50% of every instance count from min (2) to max (4): with 3 instances, 50% rounds up to 2 instance(s)',
    );
    expect(
      trafficShiftingProblem({
        mode: n('mode', 'linear' as const),
        percent: n('step', 33),
        minInstances: n('min', 2),
        maxInstances: n('max', 4),
      }),
    ).toBeUndefined();
  });

  test('all at once has no size rule', () => {
    expect(
      trafficShiftingProblem({
        mode: n('mode', 'all-at-once' as const),
        percent: n('p', 0),
        minInstances: n('min', 1),
        maxInstances: n('max', 1),
      }),
    ).toBeUndefined();
  });

  test('InferenceEndpoint refuses a canary on one instance in its own prop names; its default shifts all at once', () => {
    expect(() => endpoint({ trafficShifting: TrafficShifting.canary({ canaryPercent: 10 }) })).toThrow(
      /^InferenceEndpoint at Test\/Endpoint: invalid minCapacity 1; allowed: at least 2 with trafficShifting=canary/,
    );
    const template = Template.fromStack(endpoint().stack);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 300,
        },
      },
    });
  });
});

describe('spot wait against runtime (StoppingCondition)', () => {
  test('refuses a spot wait shorter than the runtime at synth, citing the page', () => {
    expect(configError({ trainingMaxWaitSeconds: 600, trainingMaxRuntimeSeconds: 1200 })).toBe(
      'Invalid setting "trainingMaxWaitSeconds": 600; allowed: at least trainingMaxRuntimeSeconds (1200) when trainingUseSpot is true: ' +
        `SageMaker's spot wait includes the run itself (see ${RULE_SOURCES.stoppingCondition})`,
    );
  });

  test('on-demand training has no spot wait to check', () => {
    expect(
      spotWaitProblem({ useSpot: n('spot', false), maxWaitSeconds: n('wait', 60), maxRuntimeSeconds: n('run', 3600) }),
    ).toBeUndefined();
    expect(() => loadConfig({ trainingUseSpot: false, trainingMaxWaitSeconds: 600, trainingMaxRuntimeSeconds: 1200 })).not.toThrow();
  });
});

describe('volume KMS against NVMe instance storage (ResourceConfig, CreateEndpointConfig)', () => {
  test('refuses a volume key for a type with instance storage, accepts it for an EBS-only type', () => {
    expect(
      volumeKmsProblem({
        instanceType: n('instanceType', 'ml.g5.xlarge'),
        volumeKey: n('volumeKey', 'arn:aws:kms:eu-west-1:111122223333:key/x'),
      }),
    ).toMatchObject({ setting: 'volumeKey', source: RULE_SOURCES.volumeKms });
    expect(
      volumeKmsProblem({
        instanceType: n('instanceType', 'ml.m5.large'),
        volumeKey: n('volumeKey', 'arn:aws:kms:eu-west-1:111122223333:key/x'),
      }),
    ).toBeUndefined();
  });

  test('every hosting type: the endpoint config carries a volume key exactly where SageMaker accepts one', () => {
    let nvme = 0;
    for (const instanceType of HOSTING_INSTANCE_TYPES) {
      const { stack } = endpoint({ instanceType });
      const [config] = Object.values(Template.fromStack(stack).findResources('AWS::SageMaker::EndpointConfig'));
      const key = config.Properties.KmsKeyId;
      expect({
        instanceType,
        problem: volumeKmsProblem({ instanceType: n('KmsKeyId', instanceType), volumeKey: n('KmsKeyId', key) }),
      }).toEqual({ instanceType, problem: undefined });
      if (!supportsVolumeKms(instanceType)) nvme++;
      else expect({ instanceType, key }).toEqual({ instanceType, key: expect.anything() });
    }
    expect(nvme).toBeGreaterThan(0);
  });

  test('the NVMe families the matrix lists include the ones AWS names as examples (ml.p4d, ml.g4dn, ml.g5)', () => {
    // ResourceConfig.VolumeSizeInGB: "ML instance families with the NVMe-type instance storage include ml.p4d, ml.g4dn, and ml.g5".
    for (const t of ['ml.p4d.24xlarge', 'ml.g4dn.xlarge', 'ml.g5.xlarge']) expect(supportsVolumeKms(t)).toBe(false);
    // "... ML instance families that use EBS volumes include ml.c5 and ml.p2."
    for (const t of ['ml.c5.xlarge', 'ml.p3.2xlarge']) expect(supportsVolumeKms(t)).toBe(true);
    expect(TRAINING_INSTANCE_TYPES.filter((t) => !supportsVolumeKms(t)).length).toBeGreaterThan(0);
  });
});

describe('GPU architecture against the image (the GPU matrix of instance-types.ts)', () => {
  test('refuses a GPU the build has no kernels for, listing the families it can run', () => {
    const voltaless = { torch: '2.15.0', cuda: '13.2', archList: ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120'] };
    const problem = gpuImageProblem({
      instanceType: n('trainingInstanceType', 'ml.p3.2xlarge'),
      choices: TRAINING_INSTANCE_TYPES,
      image: voltaless,
    });
    expect(problem).toMatchObject({ setting: 'trainingInstanceType', value: 'ml.p3.2xlarge' });
    expect(problem!.allowed).toContain('ml.p3.2xlarge has NVIDIA V100 GPUs (sm_70)');
    expect(() => loadConfig({}, voltaless)).toThrow(/Invalid setting "trainingInstanceType": "ml.p3.2xlarge"/);
  });

  test('the image in this repository runs the default ml.p3.2xlarge', () => {
    expect(gpuImageProblem({ instanceType: n('trainingInstanceType', 'ml.p3.2xlarge'), choices: TRAINING_INSTANCE_TYPES })).toBeUndefined();
  });
});

describe('autoscaling against instance-type changes (endpoint-scaling-update)', () => {
  test('the endpoint name carries the instance type, so a new type is a new endpoint and a new scalable target', () => {
    const names = ['ml.m5.large', 'ml.c5.xlarge'].map((instanceType) => {
      const { stack } = endpoint({ instanceType, minCapacity: 1, maxCapacity: 3 });
      const template = Template.fromStack(stack);
      const [target] = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'));
      const [resource] = Object.values(template.findResources('AWS::SageMaker::Endpoint'));
      // <literal part><12 hex digits of the stack id, resolved at deploy time>, as one Fn::Join.
      const [literal, suffix] = resource.Properties.EndpointName['Fn::Join'][1];
      expect(target.Properties.ResourceId).toEqual({ 'Fn::Join': ['', [`endpoint/${literal}`, suffix, '/variant/AllTraffic']] });
      expect(JSON.stringify(suffix)).toContain('AWS::StackId');
      return `${literal}0123456789ab`;
    });
    expect(names[0]).toMatch(/-m5-large-0123456789ab$/);
    expect(names[1]).toMatch(/-c5-xlarge-0123456789ab$/);
    expect(names[0]).not.toBe(names[1]);
    expect(names.every((name) => name.length <= 63 && /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(name))).toBe(true);
  });

  test('the same instance type keeps the name (a new model updates blue/green), and the variant name stays', () => {
    const first = endpoint({ instanceType: 'ml.m5.large', maxCapacity: 2 }, 'jobs/job-1/output/model.tar.gz');
    const second = endpoint({ instanceType: 'ml.m5.large', maxCapacity: 2 }, 'jobs/job-2/output/model.tar.gz');
    const [a, b] = [first.endpoint, second.endpoint];
    const nameOf = (stack: Stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::SageMaker::Endpoint'))[0].Properties.EndpointName;
    expect(nameOf(first.stack)).toEqual(nameOf(second.stack));
    expect(a.variantName).toBe(b.variantName);
  });

  test('refuses a hand-picked name without the instance type on an autoscaled endpoint; accepts one with it', () => {
    expect(() => endpoint({ endpointName: 'digits', maxCapacity: 2 })).toThrow(
      /^InferenceEndpoint at Test\/Endpoint: invalid endpointName "digits"; allowed: a name ending in "-m5-large" while the endpoint autoscales: .*\(see https:\/\/docs\.aws\.amazon\.com\/sagemaker\/latest\/dg\/endpoint-scaling-update\.html\)$/,
    );
    expect(() => endpoint({ endpointName: 'digits-m5-large', maxCapacity: 2 })).not.toThrow();
    expect(() => endpoint({ endpointName: 'digits' })).not.toThrow();
    expect(
      instanceTypeChangeProblem({ endpointName: n('name', 'x-g5-12xlarge'), instanceType: n('type', 'ml.g5.12xlarge'), autoscales: true }),
    ).toBeUndefined();
    expect(instanceTypeSuffix('ml.p4de.24xlarge')).toBe('p4de-24xlarge');
  });
});

describe('each rule is written once: the configuration and the construct word the same rule', () => {
  /** The part of an error after "allowed: ", which both callers take from the rule. */
  const allowed = (message: string) =>
    message
      .split('allowed: ')[1]
      .replace(/\b(trainingMaxRuntimeSeconds|trainingUseSpot|servingMinCapacity|servingInstanceType)\b/g, '<name>')
      .replace(/\b(maxRuntime|useSpot|minCapacity|instanceType)\b/g, '<name>');
  const thrown = (build: () => unknown) => {
    try {
      build();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };

  test('capacity: a burstable endpoint that autoscales', () => {
    const fromConfig = configError({ servingInstanceType: 'ml.t2.medium', servingMinCapacity: 1, servingMaxCapacity: 2 });
    const fromConstruct = thrown(() => endpoint({ instanceType: 'ml.t2.medium', minCapacity: 1, maxCapacity: 2 }));
    expect(fromConstruct).toMatch(/^InferenceEndpoint at Test\/Endpoint: invalid maxCapacity 2; /);
    expect(allowed(fromConstruct)).toBe(allowed(fromConfig));
    expect(fromConfig).toContain(`(see ${RULE_SOURCES.burstableScaling})`);
  });

  test('capacity: fewer instances at most than at least', () => {
    expect(configError({ servingMinCapacity: 3, servingMaxCapacity: 2 })).toBe(
      'Invalid setting "servingMinCapacity": 3; allowed: at most servingMaxCapacity (2)',
    );
    expect(thrown(() => endpoint({ minCapacity: 3, maxCapacity: 2 }))).toBe(
      'InferenceEndpoint at Test/Endpoint: invalid minCapacity 3; allowed: at most maxCapacity (2)',
    );
  });

  test("the deploy's wait against the job's longest run", () => {
    expect(jobWaitProblem({ maxRuntimeSeconds: n('run', 600), waitSeconds: n('wait', 600) })).toBeUndefined();
    expect(
      jobWaitProblem({
        useSpot: n('spot', true),
        maxWaitSeconds: n('maxWait', 900),
        maxRuntimeSeconds: n('run', 600),
        waitSeconds: n('wait', 600),
      }),
    ).toMatchObject({ setting: 'maxWait', value: 900, allowed: 'at most wait (600), or the deploy gives up while the job still runs' });
    expect(configError({ trainingMaxWaitSeconds: 7500, trainingTimeoutMinutes: 120 })).toBe(
      'Invalid setting "trainingMaxWaitSeconds": 7500; allowed: at most trainingTimeoutMinutes * 60 (7200), or the deploy gives up while the job ' +
        `still runs (see ${RULE_SOURCES.stoppingCondition})`,
    );
  });
});
