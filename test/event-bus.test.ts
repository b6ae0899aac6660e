/**
 * The test EventBridge (test/support/event-bus.ts) against the examples of AWS's pages it cites, so the loop tests'
 * "the rule matches" and "the target delivers" read as EventBridge does, not as the rule's author believed.
 */
import { deliveredInput, patternMatches } from './support/event-bus';

// eb-event-patterns.html: an EC2 state-change event and patterns over it.
const event = {
  source: 'aws.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

describe('event patterns', () => {
  it('match when every named field equals one of the listed values, at any depth', () => {
    expect(patternMatches({ source: ['aws.ec2'], detail: { state: ['running', 'terminated'] } }, event)).toBe(true);
    expect(patternMatches({ source: ['aws.ec2'], detail: { state: ['running'] } }, event)).toBe(false);
  });
  it('do not match an event without the field, and match an array field when one element is listed', () => {
    expect(patternMatches({ detail: { reason: ['x'] } }, event)).toBe(false);
    expect(patternMatches({ resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'] }, event)).toBe(true);
  });
  it('refuse syntax they do not implement rather than guess', () => {
    expect(() => patternMatches({ source: [{ prefix: 'aws.' }] }, event)).toThrow(/content filter/);
    expect(() => patternMatches({ $or: [] }, event)).toThrow(/not supported/);
    expect(() => patternMatches({ source: 'aws.ec2' }, event)).toThrow(/must be an array/);
  });
});

describe('target input', () => {
  it('is the whole event, a constant Input or the InputPath value', () => {
    expect(deliveredInput({ Arn: 'x' }, event)).toEqual(event);
    expect(deliveredInput({ Arn: 'x', Input: '{"trigger":"schedule"}' }, event)).toEqual({ trigger: 'schedule' });
    expect(deliveredInput({ Arn: 'x', InputPath: '$.detail' }, event)).toEqual(event.detail);
  });
  it('quotes a string placeholder outside a JSON string and inserts its text inside one (eb-transform-target-input.html)', () => {
    const target = {
      Arn: 'x',
      InputTransformer: {
        InputPathsMap: { instance: '$.detail.instance-id', state: '$.detail.state' },
        InputTemplate: '{"instance": <instance>, "message": "instance <instance> is <state>"}',
      },
    };
    expect(deliveredInput(target, event)).toEqual({
      instance: 'i-1234567890abcdef0',
      message: 'instance i-1234567890abcdef0 is terminated',
    });
  });
  it('refuses a placeholder missing from InputPathsMap', () => {
    expect(() => deliveredInput({ Arn: 'x', InputTransformer: { InputTemplate: '{"a": <b>}' } }, event)).toThrow(
      /<b> is not in InputPathsMap/,
    );
  });
});
