import { ArnFormat, Fn, Names, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

import { check, validateProps } from '../private/validation';
import { MAX_BODY_BYTES, WAF_MAX_INSPECTED_BODY_BYTES, wafBodyTooLargeResponse } from './runtime/request-limits';

/** Properties of an {@link ApiWaf}. */
export interface ApiWafProps {
  /** The API Gateway stage the web ACL protects. */
  readonly stage: apigw.Stage;

  /**
   * Requests one IP address may send in 5 minutes before it is blocked (HTTP 429) for a while.
   * @default 1000
   */
  readonly rateLimitPer5Minutes?: number;

  /**
   * Largest request body let through, in bytes; larger ones are blocked with 413. At most 65536, the most
   * WAF inspects of an API Gateway request body.
   * @default - the largest maxBytes of training-image/request-limits.json, the table every layer of the API derives from
   */
  readonly maxBodyBytes?: number;

  /**
   * When not empty, only these IPv4 CIDR blocks may reach the API (others get 403).
   * @default - every address
   */
  readonly allowedCidrs?: string[];

  /**
   * Key that encrypts the WAF log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;

  /**
   * How long WAF logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * WAF's body inspection limits for API Gateway, in KB; beyond the default 16 KB costs extra.
 * https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html
 */
const INSPECTION_LIMITS_KB = [16, 32, 48, 64];

/**
 * A regional WAFv2 web ACL on an API Gateway stage: an optional IP allow-list, Amazon IP reputation, a
 * per-IP rate limit, a body-size limit, and the AWS managed Common and Known-bad-inputs rule sets; blocks
 * answer JSON; every request is logged (credentials and query string redacted) to an `aws-waf-logs-` log group.
 */
export class ApiWaf extends Construct {
  /** The web ACL. */
  readonly webAcl: wafv2.CfnWebACL;
  /** Its ARN. */
  readonly webAclArn: string;
  /** Its name (known at synth time). */
  readonly webAclName: string;
  /** The metric name of the web ACL: the `WebACL` dimension of its AWS/WAFV2 metrics (with `Rule` 'ALL'). */
  readonly metricName: string;
  /** Metric names of the rules, by rule name: the `Rule` dimension of their AWS/WAFV2 metrics. */
  readonly ruleMetricNames: Record<string, string>;
  /** The log group of WAF logs. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiWafProps) {
    super(scope, id);
    const maxBodyBytes = props.maxBodyBytes ?? MAX_BODY_BYTES;
    const rateLimit = props.rateLimitPer5Minutes ?? 1000;
    validateProps(this, [
      check(
        'maxBodyBytes',
        maxBodyBytes,
        (n) => Number.isInteger(n) && n >= 1 && n <= WAF_MAX_INSPECTED_BODY_BYTES,
        `a whole number from 1 to ${WAF_MAX_INSPECTED_BODY_BYTES}: WAF inspects at most 64 KB of an API Gateway body`,
      ),
      check('rateLimitPer5Minutes', rateLimit, (n) => Number.isInteger(n) && n >= 10, "a whole number of at least 10 (WAF's minimum)"),
    ]);
    this.webAclName = Names.uniqueResourceName(this, { maxLength: 128, separator: '-' });
    this.metricName = this.webAclName;
    const inspectionLimitKb = INSPECTION_LIMITS_KB.find((kb) => kb * 1024 >= maxBodyBytes) ?? 64;

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const ruleMetricNames: Record<string, string> = {};
    const addRule = (rule: Omit<wafv2.CfnWebACL.RuleProperty, 'priority' | 'visibilityConfig'>) => {
      ruleMetricNames[rule.name] = `${this.metricName}-${rule.name}`;
      rules.push({ ...rule, priority: rules.length, visibilityConfig: visibility(ruleMetricNames[rule.name]) });
    };

    if (props.allowedCidrs && props.allowedCidrs.length > 0) {
      const allowed = new wafv2.CfnIPSet(this, 'AllowedCidrs', {
        scope: 'REGIONAL',
        ipAddressVersion: 'IPV4',
        addresses: props.allowedCidrs,
        description: 'Addresses allowed to reach the inference API',
      });
      addRule({
        name: 'BlockOutsideAllowList',
        action: block(403, 'forbidden'),
        statement: { notStatement: { statement: { ipSetReferenceStatement: { arn: allowed.attrArn } } } },
      });
    }
    addRule(managed('AWSManagedRulesAmazonIpReputationList'));
    addRule({
      name: 'RateLimitPerIp',
      action: block(429, 'rateLimited'),
      statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
    });
    addRule({
      name: 'BodySizeLimit',
      action: block(413, 'tooLarge'),
      statement: {
        sizeConstraintStatement: {
          // A body beyond what WAF inspects matches too, so nothing larger than the limit slips through.
          fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
          comparisonOperator: 'GT',
          size: maxBodyBytes,
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
    });
    // The Common set's SizeRestrictions_BODY blocks bodies over 8 KB, far below a batch of rows; the
    // BodySizeLimit rule above enforces the configured limit instead, so that one only counts.
    addRule(managed('AWSManagedRulesCommonRuleSet', ['SizeRestrictions_BODY']));
    addRule(managed('AWSManagedRulesKnownBadInputsRuleSet'));
    this.ruleMetricNames = ruleMetricNames;

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: this.webAclName,
      description: 'Protects the inference API',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(this.metricName),
      rules,
      customResponseBodies: {
        forbidden: { contentType: 'APPLICATION_JSON', content: '{"error": "Forbidden"}' },
        rateLimited: { contentType: 'APPLICATION_JSON', content: '{"error": "Too many requests from this address; retry later"}' },
        tooLarge: { contentType: 'APPLICATION_JSON', content: wafBodyTooLargeResponse(maxBodyBytes).body },
      },
      associationConfig:
        inspectionLimitKb > 16 ? { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: `KB_${inspectionLimitKb}` } } } : undefined,
    });
    this.webAclArn = this.webAcl.attrArn;

    // The stage ARN references the stage, so the association waits for it.
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // WAF only delivers to log groups whose name starts with aws-waf-logs-
      // (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html). The group is kept on
      // `cdk destroy`, so its name ends with the stack's unique id: a fixed name would make the next deploy
      // fail with "already exists".
      logGroupName: `aws-waf-logs-${this.webAclName}-${Fn.select(2, Fn.split('/', Stack.of(this).stackId))}`,
      encryptionKey: props.logsKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group ARN without the trailing ':*' of LogGroup.logGroupArn.
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: WAF_LOG_REDACTED_FIELDS,
    });
  }
}

/**
 * What WAF logs never hold: the credentials a request can carry (the SigV4 signature in `authorization`, the
 * session token of temporary credentials in `x-amz-security-token`, the API key) and the query string, where a
 * presigned SigV4 request carries the same values (X-Amz-Signature, X-Amz-Security-Token). Redactable fields:
 * https://docs.aws.amazon.com/waf/latest/developerguide/logging-management.html (single header, method, query
 * string, URI path).
 */
export const WAF_LOG_REDACTED_FIELDS: wafv2.CfnLoggingConfiguration.FieldToMatchProperty[] = [
  { singleHeader: { Name: 'authorization' } },
  { singleHeader: { Name: 'x-amz-security-token' } },
  { singleHeader: { Name: 'x-api-key' } },
  { queryString: {} },
];

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { metricName, cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true };
}

function block(responseCode: number, bodyKey: string): wafv2.CfnWebACL.RuleActionProperty {
  return { block: { customResponse: { responseCode, customResponseBodyKey: bodyKey } } };
}

/** An AWS managed rule group, with the named rules only counting. */
function managed(name: string, countOnly: string[] = []): Omit<wafv2.CfnWebACL.RuleProperty, 'priority' | 'visibilityConfig'> {
  return {
    name,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ruleActionOverrides: countOnly.length > 0 ? countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })) : undefined,
      },
    },
  };
}
