/**
 * SageMaker instance types this platform accepts, and the one property of each that changes how we
 * encrypt: instances with local NVMe instance storage (the `d` families and the GPU families below)
 * encrypt that storage with a hardware key, and SageMaker rejects a `VolumeKmsKeyId` / `KmsKeyId` for them.
 */

function family(name: string, sizes: string[]): string[] {
  return sizes.map((s) => `ml.${name}.${s}`);
}

/** Instance types SageMaker offers for training jobs (the GPU ones first: this platform trains on GPUs). */
export const TRAINING_INSTANCE_TYPES: readonly string[] = [
  'ml.p3.2xlarge', 'ml.p3.8xlarge', 'ml.p3.16xlarge', 'ml.p3dn.24xlarge',
  'ml.p4d.24xlarge', 'ml.p4de.24xlarge', 'ml.p5.48xlarge',
  ...family('g4dn', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']),
  ...family('g5', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']),
  ...family('g6', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']),
  ...family('m5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('c5', ['xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge']),
];

/** Instance types SageMaker offers for real-time endpoints. */
export const HOSTING_INSTANCE_TYPES: readonly string[] = [
  'ml.t2.medium', 'ml.t2.large', 'ml.t2.xlarge',
  ...family('m5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('m5d', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('c5', ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge']),
  ...family('c6i', ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge']),
  ...family('r5', ['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge']),
  ...family('g4dn', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']),
  ...family('g5', ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge']),
  'ml.p3.2xlarge', 'ml.p3.8xlarge', 'ml.p3.16xlarge',
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
