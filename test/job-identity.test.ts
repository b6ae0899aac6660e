/** The SageMaker jobs' identity rules (constructs/training/job-identity.ts), shared by TrainingJob and ProcessingJob. */
import {
  defaultJobNamePrefix,
  isValidAttempt,
  isValidJobNamePrefix,
  jobIdentity,
  MAX_PREFIX_LENGTH,
} from '../constructs/training/job-identity';
import { JOB_NAME_PATTERN } from '../constructs/training/runtime/sagemaker-job-contract';

describe('job identity', () => {
  test('the same inputs give the same name; another input or attempt gives another', () => {
    const a = jobIdentity('ml-training', { image: 'abc', data: 'v1' });
    expect(a.name).toMatch(/^ml-training-[0-9a-f]{16}$/);
    expect(jobIdentity('ml-training', { image: 'abc', data: 'v1' }).name).toBe(a.name);
    expect(jobIdentity('ml-training', { image: 'abc', data: 'v2' }).name).not.toBe(a.name);
    expect(jobIdentity('ml-training', { image: 'abc', data: 'v1' }, 2).name).not.toBe(a.name);
  });

  test('an unset attempt counts as 1 in the name, and only a set attempt reaches the handler', () => {
    expect(jobIdentity('p', { x: 1 }, 1).name).toBe(jobIdentity('p', { x: 1 }).name);
    expect(jobIdentity('p', { x: 1 }).startProperties).toEqual({});
    expect(jobIdentity('p', { x: 1 }, 3).startProperties).toEqual({ Attempt: 3 });
  });

  test("the default prefix is the lowercased stack name, with a processing job's entry point, within the longest prefix", () => {
    expect(defaultJobNamePrefix('DlPlatform-Training')).toBe('dlplatform-training');
    expect(defaultJobNamePrefix('DlPlatform-Training', 'prepare')).toBe('dlplatform-training-prepare');
    const long = defaultJobNamePrefix('A'.repeat(60), 'evaluate');
    expect(long).toHaveLength(MAX_PREFIX_LENGTH);
    expect(long.endsWith('-evaluate')).toBe(true);
    expect(isValidJobNamePrefix(long)).toBe(true);
    expect(jobIdentity(long, {}).name).toMatch(JOB_NAME_PATTERN);
  });

  test('a prefix must be lowercase letters, digits and inner hyphens of at most 40; an attempt a whole number from 1', () => {
    expect(['My_Jobs', '-jobs', 'jobs-', 'a'.repeat(41)].filter(isValidJobNamePrefix)).toEqual([]);
    expect(isValidJobNamePrefix('a'.repeat(40))).toBe(true);
    expect([0, 1.5, -1].filter(isValidAttempt)).toEqual([]);
    expect(isValidAttempt(1)).toBe(true);
  });
});
