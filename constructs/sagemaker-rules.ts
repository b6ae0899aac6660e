/**
 * SageMaker rules that no schema carries: CloudFormation and the API models accept these combinations, and
 * SageMaker refuses them only when it runs them (often on the second deploy, not the first). Each rule is a
 * pure function that names the AWS page it comes from and answers in the words of the caller's own settings
 * (lib/config.ts passes its setting names, constructs pass their prop names), or undefined when the
 * combination is allowed. lib/config.ts checks them all at synth; the constructs check the ones they own
 * (through constructs/private/validation.ts, which names the construct path). A rule is written here once and
 * never again in a caller.
 */
import { CudaDriverNeed, cudaMajor, IMAGE_DRIVER_NEED } from './gpu-drivers';
import { gpuArchitecture, hasGpu, IMAGE_TORCH_BUILD, imageSupportsInstanceType, supportsVolumeKms, TorchBuild } from './instance-types';
import { GPU_DRIVERS_PAGE, hostingDrivers, hostingFamily, INFERENCE_AMIS } from './serving/inference-ami';

/** A setting (or construct prop) as the caller names it, and its value. */
export interface Named<T> {
  readonly name: string;
  readonly value: T;
  /**
   * How the value reads in messages, when not as itself (a construct's Duration: `1800s`).
   * @default - the value
   */
  readonly shown?: string;
}

/** A broken rule: which setting (or prop) to change, its value, what is allowed, and where the rule comes from. */
export interface RuleProblem {
  readonly setting: string;
  readonly value: unknown;
  readonly allowed: string;
  /**
   * The AWS page (or the repository's data file) the rule comes from.
   * @default - the rule is this platform's own
   */
  readonly source?: string;
}

/** How a named value reads in a message. */
function shown(n: Named<unknown>): string {
  return n.shown ?? String(n.value);
}

/** A problem with `n`'s value as the caller shows it. */
function problem(n: Named<unknown>, allowed: string, source?: string): RuleProblem {
  return { setting: n.name, value: n.shown ?? n.value, allowed, ...(source ? { source } : {}) };
}

/** The AWS pages the rules come from. */
export const RULE_SOURCES = {
  trafficRouting: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html',
  stoppingCondition: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html',
  volumeKms: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html',
  endpointScalingUpdate: 'https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html',
  burstableScaling: 'https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-add-console.html',
  gpuMatrix: 'training-image/gpu-architectures.json',
  hostingDriver: GPU_DRIVERS_PAGE,
} as const;

/** The traffic-shifting modes of a blue/green endpoint update. */
export type TrafficShiftMode = 'canary' | 'linear' | 'all-at-once';

/**
 * Instances a canary or linear step of `percent` takes on a fleet of `instances`. SageMaker does not document
 * how it rounds a percentage to whole instances; this assumes rounding up (at least one instance), the larger
 * step, so the rules below never accept a size SageMaker could refuse.
 */
export function stepInstances(percent: number, instances: number): number {
  return Math.max(1, Math.ceil((percent * instances) / 100));
}

/**
 * Canary and linear traffic shifting against the variant's instance count. SageMaker: "CanarySize ... Value
 * must be less than or equal to 50% of the variant's total instance count"; "LinearStepSize ... Value must be
 * 10-50% of the variant's total instance count" (TrafficRoutingConfig, RULE_SOURCES.trafficRouting). A canary
 * or step is at least one instance, so one instance can never satisfy it: with one instance the endpoint is
 * created fine and the first update (a new model) is rejected. The count at update time is whatever
 * autoscaling chose (updates retain it), so every count from `minInstances` to `maxInstances` must work.
 */
export function trafficShiftingProblem(args: {
  mode: Named<TrafficShiftMode>;
  percent: Named<number>;
  minInstances: Named<number>;
  maxInstances: Named<number>;
}): RuleProblem | undefined {
  const { mode, percent, minInstances, maxInstances } = args;
  if (mode.value === 'all-at-once') return undefined;
  const source = RULE_SOURCES.trafficRouting;
  const what = mode.value === 'canary' ? 'the canary' : 'each linear step';
  const fits = (p: number, n: number) => {
    const step = stepInstances(p, n);
    return 2 * step <= n && (mode.value === 'canary' || 10 * step >= n);
  };
  if (minInstances.value < 2) {
    return {
      setting: minInstances.name,
      value: minInstances.value,
      allowed:
        `at least 2 with ${mode.name}=${mode.value}: SageMaker allows ${what} to be at most 50% of the endpoint's instances, ` +
        `and ${what} is at least one instance (100% of 1); or set ${mode.name}=all-at-once, which still bakes and rolls back on the alarms`,
      source,
    };
  }
  const counts = Array.from({ length: Math.max(0, maxInstances.value - minInstances.value + 1) }, (_, i) => minInstances.value + i);
  const failing = counts.find((n) => !fits(percent.value, n));
  if (failing === undefined) return undefined;
  const lowest = mode.value === 'canary' ? 1 : 10;
  const working = Array.from({ length: 50 - lowest + 1 }, (_, i) => 50 - i).find((p) => counts.every((n) => fits(p, n)));
  return {
    setting: percent.name,
    value: percent.value,
    allowed:
      `${working === undefined ? 'a size' : `at most ${working}`} that keeps ${what} within 50% of every instance count from ` +
      `${minInstances.name} (${minInstances.value}) to ${maxInstances.name} (${maxInstances.value}): with ${failing} instances, ` +
      `${percent.value}% rounds up to ${stepInstances(percent.value, failing)} instance(s), more than half` +
      (working === undefined ? `; or set ${mode.name}=all-at-once` : ''),
    source,
  };
}

/**
 * Managed spot training: "MaxWaitTimeInSeconds ... must be equal to or greater than MaxRuntimeInSeconds"
 * (StoppingCondition, RULE_SOURCES.stoppingCondition); it is the wait for spot capacity plus the run.
 */
export function spotWaitProblem(args: {
  useSpot: Named<boolean>;
  maxWaitSeconds: Named<number>;
  maxRuntimeSeconds: Named<number>;
}): RuleProblem | undefined {
  const { useSpot, maxWaitSeconds, maxRuntimeSeconds } = args;
  if (!useSpot.value || maxWaitSeconds.value >= maxRuntimeSeconds.value) return undefined;
  return problem(
    maxWaitSeconds,
    `at least ${maxRuntimeSeconds.name} (${shown(maxRuntimeSeconds)}) when ${useSpot.name} is true: SageMaker's spot wait includes the run itself`,
    RULE_SOURCES.stoppingCondition,
  );
}

/**
 * The deploy's wait against the job's longest run: a job may take its spot wait (which includes the run) with
 * spot, its runtime without (StoppingCondition, RULE_SOURCES.stoppingCondition). A deploy that waits less gives
 * up while the job still runs, and its rollback stops a job that might have succeeded.
 */
export function jobWaitProblem(args: {
  useSpot?: Named<boolean>;
  maxWaitSeconds?: Named<number>;
  maxRuntimeSeconds: Named<number>;
  waitSeconds: Named<number>;
}): RuleProblem | undefined {
  const longest = args.useSpot?.value && args.maxWaitSeconds ? args.maxWaitSeconds : args.maxRuntimeSeconds;
  if (longest.value <= args.waitSeconds.value) return undefined;
  return problem(
    longest,
    `at most ${args.waitSeconds.name} (${shown(args.waitSeconds)}), or the deploy gives up while the job still runs`,
    RULE_SOURCES.stoppingCondition,
  );
}

/**
 * An endpoint's instance counts: the fewest at most the most, and a burstable (ml.t*) type at one count.
 * "SageMaker doesn't support auto scaling for burstable instances such as T2" (RULE_SOURCES.burstableScaling).
 */
export function capacityProblem(args: {
  instanceType: Named<string>;
  minInstances: Named<number>;
  maxInstances: Named<number>;
}): RuleProblem | undefined {
  const { instanceType, minInstances, maxInstances } = args;
  if (minInstances.value > maxInstances.value) return problem(minInstances, `at most ${maxInstances.name} (${shown(maxInstances)})`);
  if (maxInstances.value > minInstances.value && instanceType.value.startsWith('ml.t')) {
    return problem(
      maxInstances,
      `equal to ${minInstances.name} (${shown(minInstances)}): burstable ${instanceType.value} endpoints cannot autoscale; or choose another ${instanceType.name}`,
      RULE_SOURCES.burstableScaling,
    );
  }
  return undefined;
}

/**
 * A customer-managed volume key against instance storage: "Certain Nitro-based instances include local
 * storage ... encrypted using a hardware module on the instance. You can't request a VolumeKmsKeyId when
 * using an instance type with local storage" (ResourceConfig, RULE_SOURCES.volumeKms; CreateEndpointConfig's
 * KmsKeyId says the same for endpoints). Which families have NVMe instance storage: instance-types.ts.
 */
export function volumeKmsProblem(args: { instanceType: Named<string>; volumeKey: Named<unknown> }): RuleProblem | undefined {
  const { instanceType, volumeKey } = args;
  if (volumeKey.value === undefined || supportsVolumeKms(instanceType.value)) return undefined;
  return {
    setting: volumeKey.name,
    value: '(a KMS key)',
    allowed: `unset for ${instanceType.name}=${instanceType.value}: its NVMe instance storage is encrypted by the instance's hardware, and SageMaker refuses a key for it`,
    source: RULE_SOURCES.volumeKms,
  };
}

/**
 * GPU architecture against the image: the training image's PyTorch build must have kernels for the instance's
 * GPU, or training fails with "no kernel image is available" (or, with device=auto, falls back to the CPU of a
 * paid GPU instance). The GPU matrix and its check are instance-types.ts's (imageSupportsInstanceType); this
 * turns a refusal into the user's words, listing the families the image can run.
 */
export function gpuImageProblem(args: {
  instanceType: Named<string>;
  choices: readonly string[];
  image?: TorchBuild;
}): RuleProblem | undefined {
  const { instanceType, choices } = args;
  const image = args.image ?? IMAGE_TORCH_BUILD;
  if (imageSupportsInstanceType(instanceType.value, image)) return undefined;
  const gpu = gpuArchitecture(instanceType.value);
  const why = gpu
    ? `${instanceType.value} has ${gpu.gpu} GPUs (${gpu.arch}) and the image's PyTorch ${image.torch} (CUDA ${image.cuda}) is built for ${image.archList.join(', ') || 'no GPU architecture'}`
    : `the GPU of ${instanceType.value} is not in training-image/gpu-architectures.json`;
  const families = [...new Set(choices.filter((t) => imageSupportsInstanceType(t, image)).map((t) => gpuArchitecture(t)))].flatMap((g) =>
    g ? [`${g.family} (${g.gpu})`] : [],
  );
  const choicesText = families.length > 0 ? `a CPU type or the ${families.join(', ')} families` : 'a CPU type';
  return {
    setting: instanceType.name,
    value: instanceType.value,
    allowed: `a type whose GPU the training image can run (${why}): ${choicesText}`,
    source: RULE_SOURCES.gpuMatrix,
  };
}

/**
 * The endpoint's NVIDIA driver against the image's CUDA: a GPU endpoint runs the driver of its production variant's
 * InferenceAmiVersion (constructs/serving/inference-ami.ts, from RULE_SOURCES.hostingDriver), which must run the
 * image's CUDA natively or through its forward-compatibility package. Without one, SageMaker's default driver for
 * p3, g4dn and g5 is 470 (CUDA 11.4), which it upgrades over time, and the CUDA 12.8 image never passed /ping there:
 * a GPU endpoint always pins a known driver. A CPU endpoint takes no GPU AMI.
 * `amiVersion` undefined: the default choice, which exists exactly when some AMI runs the image on the family.
 */
export function hostingDriverProblem(args: {
  instanceType: Named<string>;
  amiVersion: Named<string | undefined>;
  choices: readonly string[];
  need?: CudaDriverNeed;
}): RuleProblem | undefined {
  const { instanceType, amiVersion, choices } = args;
  const need = args.need ?? IMAGE_DRIVER_NEED;
  const source = RULE_SOURCES.hostingDriver;
  if (!hasGpu(instanceType.value)) {
    return amiVersion.value === undefined
      ? undefined
      : {
          setting: amiVersion.name,
          value: amiVersion.value,
          allowed: `unset while ${instanceType.name}=${instanceType.value}, which has no GPU (the InferenceAmiVersion values pick a GPU or Neuron driver)`,
          source,
        };
  }
  const family = hostingFamily(instanceType.value);
  const drivers = hostingDrivers(family, need);
  const runs =
    `runs the image's CUDA ${need.cuda} (driver ${need.nativeMinimumDriver} on, or ${need.compatPackage} on the ` +
    `${need.compatBranches.join(', ')} branches)`;
  if (drivers.length === 0) {
    const families = [...new Set(choices.filter((t) => hasGpu(t) && hostingDrivers(hostingFamily(t), need).length > 0).map(hostingFamily))];
    return {
      setting: instanceType.name,
      value: instanceType.value,
      allowed:
        `a type with an InferenceAmiVersion whose NVIDIA driver ${runs}; AWS lists none for ${family}: ` +
        (families.length > 0 ? `a CPU type or the ${families.join(', ')} families` : 'a CPU type'),
      source,
    };
  }
  if (amiVersion.value === undefined || drivers.some((d) => d.ami.version === amiVersion.value)) return undefined;
  return {
    setting: amiVersion.name,
    value: amiVersion.value,
    allowed:
      `an InferenceAmiVersion whose NVIDIA driver ${runs} on ${instanceType.value}, ` +
      `not ${amiVersion.value} (${whyNot(amiVersion.value, family, need)}): ${drivers.map((d) => d.ami.version).join(', ')}`,
    source,
  };
}

function whyNot(version: string, family: string, need: CudaDriverNeed): string {
  const ami = INFERENCE_AMIS.find((a) => a.version === version);
  if (!ami?.driver || !ami.cuda) return 'no NVIDIA driver';
  if (!ami.families?.includes(family)) return `AWS lists no ${family} instances for it`;
  if (cudaMajor(ami.cuda) !== cudaMajor(need.cuda)) return `driver ${ami.driver} is a CUDA ${ami.cuda} AMI`;
  return `driver ${ami.driver} is older than ${need.nativeMinimumDriver} and not a branch ${need.compatPackage} supports`;
}

/** The instance type as an endpoint-name suffix: ml.g5.12xlarge -> g5-12xlarge. */
export function instanceTypeSuffix(instanceType: string): string {
  return instanceType.replace(/^ml\./, '').replace(/[^A-Za-z0-9]+/g, '-');
}

/**
 * Autoscaling against instance-type changes. "If the update would change the instance type for any model that
 * is a target for auto scaling, the update fails" (RULE_SOURCES.endpointScalingUpdate): SageMaker wants the
 * variant deregistered first, which CloudFormation cannot order (it updates the endpoint before it removes or
 * replaces the scalable target). Blue/green updates need the variant name to stay the same
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html), so the endpoint
 * name carries the instance type instead: a new type makes a new endpoint (CloudFormation creates it, points
 * the API at it, then deletes the old one with its scalable target), and a new model alone keeps the name and
 * updates blue/green. A name chosen by hand for an autoscaled endpoint must follow the same rule.
 */
export function instanceTypeChangeProblem(args: {
  endpointName: Named<string>;
  instanceType: Named<string>;
  autoscales: boolean;
}): RuleProblem | undefined {
  const { endpointName, instanceType, autoscales } = args;
  const suffix = `-${instanceTypeSuffix(instanceType.value)}`;
  if (!autoscales || endpointName.value.endsWith(suffix)) return undefined;
  return {
    setting: endpointName.name,
    value: endpointName.value,
    allowed:
      `a name ending in "${suffix}" while the endpoint autoscales: SageMaker refuses to change the instance type of an autoscaled ` +
      `variant in place, so a new ${instanceType.name} must come with a new endpoint name`,
    source: RULE_SOURCES.endpointScalingUpdate,
  };
}
