/**
 * SageMaker instance types this platform accepts, and the properties of each that change what we deploy:
 * instances with local NVMe instance storage (the `d` families and the GPU families below) encrypt that
 * storage with a hardware key, and SageMaker rejects a `VolumeKmsKeyId` / `KmsKeyId` for them; and a GPU
 * type's architecture decides whether the training image's PyTorch build can run on it at all.
 */
import gpuMatrix from '../training-image/gpu-architectures.json';

function family(name: string, sizes: string[]): string[] {
  return sizes.map((s) => `ml.${name}.${s}`);
}

/** Instance types SageMaker offers for training jobs (the GPU ones first: this platform trains on GPUs). */
export const TRAINING_INSTANCE_TYPES: readonly string[] = [
  'ml.p3.2xlarge',
  'ml.p3.8xlarge',
  'ml.p3.16xlarge',
  'ml.p3dn.24xlarge',
  'ml.p4d.24xlarge',
  'ml.p4de.24xlarge',
  'ml.p5.48xlarge',
  ...family('g4dn', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']),
  ...family('g5', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']),
  ...family('g6', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']),
  ...family('m5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('c5', ['xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge']),
];

/** Instance types SageMaker offers for real-time endpoints. */
export const HOSTING_INSTANCE_TYPES: readonly string[] = [
  'ml.t2.medium',
  'ml.t2.large',
  'ml.t2.xlarge',
  ...family('m5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('m5d', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('c5', ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge']),
  ...family('c6i', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge']),
  ...family('r5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('g4dn', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']),
  ...family('g5', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']),
  'ml.p3.2xlarge',
  'ml.p3.8xlarge',
  'ml.p3.16xlarge',
];

/** Instance types for the `prepare` Processing job: CPU only, since preparing CSV data needs no GPU. */
export const PROCESSING_INSTANCE_TYPES: readonly string[] = [
  ...family('m5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('c5', ['xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge']),
  ...family('r5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
];

/** Families whose instances have NVMe instance storage, which SageMaker encrypts itself. */
const INSTANCE_STORAGE_FAMILIES = new Set(['p3dn', 'p4d', 'p4de', 'p5', 'g4dn', 'g5', 'g6', 'm5d', 'c5d', 'r5d']);

/** Whether SageMaker accepts a customer-managed KMS key for this instance type's storage volume. */
export function supportsVolumeKms(instanceType: string): boolean {
  const fam = instanceType.split('.')[1] ?? '';
  return !INSTANCE_STORAGE_FAMILIES.has(fam);
}

/** Whether an instance type has NVIDIA GPUs (decides the GPU utilisation alarms). */
export function hasGpu(instanceType: string): boolean {
  return /^ml\.(p\d|g\d)/.test(instanceType);
}

/** The NVIDIA GPU of an instance family, from training-image/gpu-architectures.json (which cites its AWS page). */
export interface GpuArchitecture {
  /** Instance family, e.g. `p3`. */
  readonly family: string;
  /** GPU model, e.g. `NVIDIA V100`. */
  readonly gpu: string;
  /** CUDA compute capability, e.g. `7.0` (https://developer.nvidia.com/cuda-gpus). */
  readonly computeCapability: string;
  /** The same as a CUDA architecture name, e.g. `sm_70`. */
  readonly arch: string;
}

/** A PyTorch build and the CUDA architectures it was compiled for (`torch.cuda.get_arch_list()`). */
export interface TorchBuild {
  readonly torch: string;
  readonly cuda: string;
  readonly archList: readonly string[];
}

/**
 * The training image's PyTorch build, recorded in gpu-architectures.json because synth cannot run torch;
 * training-image/tests/test_gpu_matrix.py keeps it equal to what the pinned torch reports.
 */
export const IMAGE_TORCH_BUILD: TorchBuild = gpuMatrix.torchBuild;

/** Every GPU family in the matrix, e.g. `p3` → NVIDIA V100, 7.0. */
export const GPU_ARCHITECTURES: ReadonlyMap<string, GpuArchitecture> = new Map(
  Object.entries(gpuMatrix.families as Record<string, { gpu: string; computeCapability: string }>).map(([family, row]) => [
    family,
    { family, gpu: row.gpu, computeCapability: row.computeCapability, arch: `sm_${row.computeCapability.replace('.', '')}` },
  ]),
);

/** The GPU of an instance type, or undefined for a type without GPUs or one missing from the matrix. */
export function gpuArchitecture(instanceType: string): GpuArchitecture | undefined {
  return GPU_ARCHITECTURES.get(instanceType.split('.')[1] ?? '');
}

const ARCH = /^(sm|compute)_(\d+)(\d)([af]?)$/;

/**
 * Whether code compiled for `arch` (an entry of `torch.cuda.get_arch_list()`) runs on a GPU of compute
 * capability `computeCapability`. NVIDIA's rule (CUDA C++ Programming Guide, "Binary Compatibility" and "PTX
 * Compatibility", https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#binary-compatibility): a
 * cubin (`sm_XY`) runs on GPUs of the same major and the same or a higher minor version; PTX (`compute_XY`) is
 * compiled by the driver for that capability or any higher one; `a` (architecture-specific) code runs only on
 * that exact capability and `f` (family-specific) code only within its major version.
 * The same rule as arch_runs_on() in training-image/src/dlplatform/train/gpu.py.
 */
export function archRunsOn(arch: string, computeCapability: string): boolean {
  const m = ARCH.exec(arch);
  if (!m) return false;
  const [major, minor] = [Number(m[2]), Number(m[3])];
  const [gpuMajor, gpuMinor] = computeCapability.split('.').map(Number);
  if (m[4] === 'a') return gpuMajor === major && gpuMinor === minor;
  if (m[1] === 'sm' || m[4] === 'f') return gpuMajor === major && gpuMinor >= minor;
  return gpuMajor > major || (gpuMajor === major && gpuMinor >= minor);
}

/** Whether `build` (default: the training image's) can run on the GPU of `instanceType`; true for CPU types. */
export function imageSupportsInstanceType(instanceType: string, build: TorchBuild = IMAGE_TORCH_BUILD): boolean {
  if (!hasGpu(instanceType)) return true;
  const gpu = gpuArchitecture(instanceType);
  return gpu !== undefined && build.archList.some((arch) => archRunsOn(arch, gpu.computeCapability));
}
