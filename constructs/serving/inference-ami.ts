/**
 * The NVIDIA driver of a real-time endpoint's GPU instances, and the production variant's InferenceAmiVersion
 * that decides it. Without one, SageMaker runs its default driver for the family (470 / CUDA 11.4 on p3, p4d,
 * g4dn and g5), which it upgrades over time; the image's CUDA 12.8 needs driver 570 or its forward-compatibility
 * package on a known branch, so a GPU endpoint always pins an AMI whose driver runs the image.
 *
 * Sources: SageMaker's page "Best practices to minimize interruptions during GPU driver upgrades"
 * (GPU_DRIVERS_PAGE: the default driver per family, and which AMI versions the families take), and the
 * ProductionVariant API reference (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html:
 * each AMI's driver, CUDA and container toolkit setting; botocore's model carries the same text, and
 * test/gpu-drivers.test.ts checks this table against it and the AMI names against CloudFormation's enum in
 * cfn-lint's schema).
 */
import { compareDriverVersions, CudaDriverNeed, cudaMajor, DriverRoute, driverRoute, IMAGE_DRIVER_NEED } from '../gpu-drivers';

export const GPU_DRIVERS_PAGE = 'https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html';

/** One InferenceAmiVersion (AWS::SageMaker::EndpointConfig ProductionVariant InferenceAmiVersion). */
export interface InferenceAmi {
  /** The value CloudFormation takes. */
  readonly version: string;
  /** NVIDIA GPUs, or AWS Inferentia and Trainium (Neuron). */
  readonly accelerator: 'nvidia' | 'neuron';
  /** NVIDIA driver branch (NVIDIA AMIs), e.g. `535`. */
  readonly driver?: string;
  /** The CUDA that driver runs natively, e.g. `12.2`. */
  readonly cuda?: string;
  /**
   * Whether the AMI's NVIDIA Container Toolkit mounts a container's CUDA compat libraries itself. The `-1` AMIs
   * disable it ("NVIDIA Container Toolkit with disabled CUDA-compat mounting"), leaving the choice to the image's
   * entry point, as this image and AWS's Deep Learning Containers make it.
   */
  readonly toolkitCompatMounting: boolean;
  /**
   * The hosting families AWS lists for this AMI (GPU_DRIVERS_PAGE's table, and the API reference's "Supported
   * instance types" of the 535 AMI, ml.g4dn.*, ml.g5.*, ml.g6.*, ml.p3.*, ml.p4d.*, ml.p4de.*, ml.p5.*).
   * Undefined: not recorded here; such an AMI is never chosen, and setting it is refused.
   */
  readonly families?: readonly string[];
}

/** Every InferenceAmiVersion CloudFormation accepts. */
export const INFERENCE_AMIS: readonly InferenceAmi[] = [
  {
    version: 'al2-ami-sagemaker-inference-gpu-2',
    accelerator: 'nvidia',
    driver: '535',
    cuda: '12.2',
    toolkitCompatMounting: true,
    families: ['g4dn', 'g5', 'g6', 'p3', 'p4d', 'p4de', 'p5'],
  },
  {
    // The same row of GPU_DRIVERS_PAGE's table as gpu-2: the same driver and families.
    version: 'al2-ami-sagemaker-inference-gpu-2-1',
    accelerator: 'nvidia',
    driver: '535',
    cuda: '12.2',
    toolkitCompatMounting: false,
    families: ['g4dn', 'g5', 'g6', 'p3', 'p4d', 'p4de', 'p5'],
  },
  {
    version: 'al2-ami-sagemaker-inference-gpu-3-1',
    accelerator: 'nvidia',
    driver: '550',
    cuda: '12.4',
    toolkitCompatMounting: false,
    families: ['p5e', 'p5en'],
  },
  // CUDA 13: AWS's Deep Learning Containers pin their CUDA 12 images to a CUDA 12 AMI, noting that this one does not
  // start them (github.com/aws/deep-learning-containers, its test_utils constants module and pull request 6187).
  { version: 'al2023-ami-sagemaker-inference-gpu-4-1', accelerator: 'nvidia', driver: '580', cuda: '13.0', toolkitCompatMounting: false },
  { version: 'al2-ami-sagemaker-inference-neuron-2', accelerator: 'neuron', toolkitCompatMounting: false },
];

/** The driver of a family's instances when the variant sets no InferenceAmiVersion (GPU_DRIVERS_PAGE). */
export const DEFAULT_HOSTING_DRIVERS: readonly { driver: string; cuda: string; families: readonly string[] }[] = [
  { driver: '470', cuda: '11.4', families: ['p2', 'p3', 'p4d', 'p4de', 'g4dn', 'g5'] },
  { driver: '535', cuda: '12.2', families: ['p5', 'g6'] },
  { driver: '550', cuda: '12.4', families: ['p5e', 'p5en'] },
];

/** An AMI that runs the image on a family, and how. */
export interface HostingDriver {
  readonly ami: InferenceAmi;
  readonly route: DriverRoute;
}

/** The instance family of a SageMaker instance type: ml.g5.12xlarge -> g5. */
export function hostingFamily(instanceType: string): string {
  return instanceType.split('.')[1] ?? '';
}

/**
 * Every AMI that runs `need`'s CUDA on `family`, best first. It must list the family, run a CUDA of the same major
 * version (AWS's DLC rule above), and have a driver that runs the image natively or through its compat package.
 * Best: native before forward compatibility, then an AMI that leaves compat to the image, then the newest driver.
 */
export function hostingDrivers(family: string, need: CudaDriverNeed = IMAGE_DRIVER_NEED): HostingDriver[] {
  return INFERENCE_AMIS.flatMap((ami) => {
    if (ami.accelerator !== 'nvidia' || !ami.families?.includes(family) || !ami.driver || !ami.cuda) return [];
    if (cudaMajor(ami.cuda) !== cudaMajor(need.cuda)) return [];
    const route = driverRoute(ami.driver, need);
    return route ? [{ ami, route }] : [];
  }).sort((a, b) => rank(a) - rank(b) || compareDriverVersions(b.ami.driver!, a.ami.driver!));
}

function rank(d: HostingDriver): number {
  return (d.route === 'native' ? 0 : 2) + (d.ami.toolkitCompatMounting ? 1 : 0);
}

/** The AMI a GPU endpoint of `family` gets by default, or undefined when none runs the image. */
export function defaultInferenceAmi(family: string, need: CudaDriverNeed = IMAGE_DRIVER_NEED): InferenceAmi | undefined {
  return hostingDrivers(family, need)[0]?.ami;
}
