/**
 * The IAM policy evaluator of test/support/iam-policy-evaluator.ts, on policies written here: the rules of
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html.
 */
import { arnMatches, evaluateAccess, LocatedPolicy, Statement, UnsupportedPolicyError } from './support/iam-policy-evaluator';

const policy = (...statements: Statement[]): LocatedPolicy[] => [
  { location: 'test', document: { Version: '2012-10-17', Statement: statements } },
];
const BUCKET = 'arn:aws:s3:::data';

describe('IAM policy evaluator', () => {
  test('an Allow whose action and resource match allows; the action is matched without case', () => {
    const p = policy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${BUCKET}/prepared/job-*/data/*` });
    expect(evaluateAccess(p, { action: 's3:GetObject', resource: `${BUCKET}/prepared/job-1/data/train/a.csv` })).toEqual({
      decision: 'Allow',
      allowed: true,
      by: ['test Statement[0]'],
    });
    expect(evaluateAccess(p, { action: 'S3:getobject', resource: `${BUCKET}/prepared/job-1/data/x` }).allowed).toBe(true);
  });

  test('nothing allows another action, another key, or a resource matched only without case: implicit deny', () => {
    const p = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: `${BUCKET}/prepared/job-?/data/*` });
    for (const request of [
      { action: 's3:PutObject', resource: `${BUCKET}/prepared/job-1/data/a` },
      { action: 's3:GetObject', resource: `${BUCKET}/prepared/job-12/data/a` },
      { action: 's3:GetObject', resource: `${BUCKET}/prepared/other-1/data/a` },
      { action: 's3:GetObject', resource: `${BUCKET}/Prepared/job-1/data/a` },
    ]) {
      expect(evaluateAccess(p, request)).toEqual({ decision: 'ImplicitDeny', allowed: false, by: [] });
    }
  });

  test('an explicit Deny wins over an Allow', () => {
    const p = policy(
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:PutObject', Resource: `${BUCKET}/models/*` },
    );
    expect(evaluateAccess(p, { action: 's3:PutObject', resource: `${BUCKET}/models/m.tar.gz` })).toEqual({
      decision: 'ExplicitDeny',
      allowed: false,
      by: ['test Statement[1]'],
    });
    expect(evaluateAccess(p, { action: 's3:PutObject', resource: `${BUCKET}/other` }).allowed).toBe(true);
  });

  test('NotAction and NotResource allow everything but what they name', () => {
    const p = policy({ Effect: 'Allow', NotAction: 's3:Delete*', NotResource: `${BUCKET}/secret/*` });
    expect(evaluateAccess(p, { action: 's3:GetObject', resource: `${BUCKET}/open/a` }).allowed).toBe(true);
    expect(evaluateAccess(p, { action: 's3:DeleteObject', resource: `${BUCKET}/open/a` }).allowed).toBe(false);
    expect(evaluateAccess(p, { action: 's3:GetObject', resource: `${BUCKET}/secret/a` }).allowed).toBe(false);
  });

  test('a StringLike prefix condition on ListBucket: a listing under the prefix only, and none without the key', () => {
    const p = policy({
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: BUCKET,
      Condition: { StringLike: { 's3:prefix': ['prepared/job-*/data/*'] } },
    });
    const list = (prefix?: string) =>
      evaluateAccess(p, { action: 's3:ListBucket', resource: BUCKET, context: prefix === undefined ? {} : { 's3:prefix': prefix } })
        .allowed;
    expect(list('prepared/job-1/data/train/')).toBe(true);
    expect(list('prepared/job-1/report/')).toBe(false);
    expect(list()).toBe(false);
    // Condition key names are case-insensitive.
    expect(evaluateAccess(p, { action: 's3:ListBucket', resource: BUCKET, context: { 'S3:Prefix': 'prepared/job-2/data/' } }).allowed).toBe(
      true,
    );
  });

  test('Bool, ArnEquals, a negated operator, IfExists and the set qualifiers', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/k';
    const grant = policy({
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: key,
      Condition: { Bool: { 'kms:GrantIsForAWSResource': true } },
    });
    expect(
      evaluateAccess(grant, { action: 'kms:CreateGrant', resource: key, context: { 'kms:GrantIsForAWSResource': 'true' } }).allowed,
    ).toBe(true);
    expect(
      evaluateAccess(grant, { action: 'kms:CreateGrant', resource: key, context: { 'kms:GrantIsForAWSResource': false } }).allowed,
    ).toBe(false);
    const create = policy({
      Effect: 'Allow',
      Action: 'sagemaker:CreateTrainingJob',
      Resource: '*',
      Condition: { ArnEquals: { 'sagemaker:OutputKmsKeyArn': key }, StringNotEquals: { 'aws:RequestTag/env': 'prod' } },
    });
    const job = (context: Record<string, string>) =>
      evaluateAccess(create, {
        action: 'sagemaker:CreateTrainingJob',
        resource: 'arn:aws:sagemaker:eu-west-1:123456789012:training-job/j',
        context,
      }).allowed;
    expect(job({ 'sagemaker:OutputKmsKeyArn': key })).toBe(true); // the negated operator holds when its key is absent
    expect(job({ 'sagemaker:OutputKmsKeyArn': key, 'aws:RequestTag/env': 'prod' })).toBe(false);
    expect(job({ 'sagemaker:OutputKmsKeyArn': `${key}2` })).toBe(false);
    const tags = (operator: string, context: Record<string, string[]>) =>
      evaluateAccess(policy({ Effect: 'Allow', Action: 'x:Y', Resource: '*', Condition: { [operator]: { 'aws:TagKeys': ['a', 'b'] } } }), {
        action: 'x:Y',
        resource: 'arn:aws:x:::r',
        context,
      }).allowed;
    expect(tags('ForAllValues:StringEquals', { 'aws:TagKeys': ['a'] })).toBe(true);
    expect(tags('ForAllValues:StringEquals', { 'aws:TagKeys': ['a', 'c'] })).toBe(false);
    expect(tags('ForAnyValue:StringEquals', { 'aws:TagKeys': ['c', 'b'] })).toBe(true);
    expect(tags('ForAnyValue:StringEquals', {})).toBe(false);
    expect(tags('StringEqualsIfExists', {})).toBe(true);
  });

  test('ARNs are matched part by part: a wildcard does not reach across the colons before the resource', () => {
    expect(arnMatches('arn:aws:states:*:123456789012:stateMachine:m', 'arn:aws:states:eu-west-1:123456789012:stateMachine:m')).toBe(true);
    expect(arnMatches('arn:aws:s3:::b*', 'arn:aws:sqs:::b')).toBe(false);
  });

  test('an operator it does not implement throws, rather than guess', () => {
    const p = policy({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    });
    expect(() => evaluateAccess(p, { action: 's3:GetObject', resource: `${BUCKET}/a` })).toThrow(UnsupportedPolicyError);
    expect(() => evaluateAccess(p, { action: 's3:GetObject', resource: `${BUCKET}/a` })).toThrow(/DateGreaterThan is not implemented/);
    const variable = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: `${BUCKET}/\${aws:username}/*` });
    expect(() => evaluateAccess(variable, { action: 's3:GetObject', resource: `${BUCKET}/a` })).toThrow(/policy variables/);
  });
});
