import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import * as path from 'path';

import { PlatformFunction } from '../private/platform-function';
import { acknowledgeAlarmResponder } from './alarm-responder-acknowledgements';
import { AlarmTopic } from './alarm-topic';

/** Properties of an {@link AlarmResponder}. */
export interface AlarmResponderProps {
  /** Key that encrypts the dedupe table. */
  readonly encryptionKey: kms.IKey;

  /**
   * Key that encrypts the function's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logsKey?: kms.IKey;

  /**
   * How long the function's logs (the incident records) are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Complete ARN of the Secrets Manager secret that holds the webhook URL (the URL itself, or `{"url": ...}`).
   * The function may read this secret and no other. A secret encrypted with a customer-managed key also
   * needs kms:Decrypt on that key for the function's role.
   * @default - no webhook: incidents are only logged
   */
  readonly webhookSecretArn?: string;

  /**
   * Longest wait for the webhook's answer.
   * @default Duration.seconds(5)
   */
  readonly webhookTimeout?: Duration;

  /**
   * Where the runbook lives (training incidents link to its training section).
   * @default 'docs/runbook.md'
   */
  readonly runbookUrl?: string;

  /**
   * How long a handled state change is remembered, so its repeated deliveries are dropped. Must outlive
   * Lambda's async retries (up to 6 hours) and EventBridge's (up to 24 hours).
   * @default Duration.days(2)
   */
  readonly dedupeWindow?: Duration;

  /**
   * Concurrent executions reserved for the function, so a busy region (the inference proxy at its limit) can
   * never throttle incident handling (the platform reserves 5 with its reserveLambdaConcurrency setting).
   * Lambda refuses a reservation that leaves fewer than 100 of the account's quota unreserved.
   * @default - none reserved: the function shares the account's unreserved pool (Lambda retries a throttled
   * asynchronous invocation, so an alarm is delayed, not lost)
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * Where an event goes when every attempt failed (the webhook stayed down): Lambda publishes the
   * invocation record there, so the incident still reaches people.
   * @default - none
   */
  readonly failureTopic?: AlarmTopic;
}

/**
 * The Lambda function that turns alarms and training failures into incidents (code:
 * alarm-responder.handler.ts): Node.js 24 on arm64 with the pinned SDK bundled, JSON logs to its own log
 * group, a KMS-encrypted DynamoDB table for cross-instance dedupe, and a role that may only write its logs,
 * claim and release dedupe items, read the one webhook secret and publish failures to the topic.
 */
export class AlarmResponder extends PlatformFunction {
  /** The dedupe table (one item per handled state change, expiring after the dedupe window). */
  readonly table: dynamodb.Table;
  /** The alarm action that invokes the function; its permission admits only the alarms it is added to. */
  readonly alarmAction: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: AlarmResponderProps) {
    const webhookTimeout = props.webhookTimeout ?? Duration.seconds(5);
    const dedupeWindow = props.dedupeWindow ?? Duration.days(2);
    super(scope, id, {
      entry: path.join(__dirname, 'runtime', 'alarm-responder.handler.ts'),
      description: 'Turns platform alarms and training failures into incident records and posts them to the webhook',
      roleDescription: 'Alarm responder: writes its logs, claims incidents in its table, reads the webhook secret',
      // The webhook wait plus a secret read and two table calls (3 s each at most), with room to spare.
      timeout: webhookTimeout.plus(Duration.seconds(20)),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        DEDUPE_TTL_SECONDS: String(dedupeWindow.toSeconds()),
        RUNBOOK_URL: props.runbookUrl ?? 'docs/runbook.md',
        WEBHOOK_TIMEOUT_MS: String(webhookTimeout.toMilliseconds()),
        ...(props.webhookSecretArn ? { WEBHOOK_SECRET_ARN: props.webhookSecretArn } : {}),
      },
      logsKey: props.logsKey,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    const role = this.role;
    this.table = new dynamodb.Table(this, 'DedupeTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Short-lived claims only: nothing is lost when the stack goes.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.table.grant(role, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    props.encryptionKey.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');

    this.function.addEnvironment('DEDUPE_TABLE_NAME', this.table.tableName);
    if (props.webhookSecretArn) {
      secretsmanager.Secret.fromSecretCompleteArn(this, 'WebhookSecret', props.webhookSecretArn).grantRead(role);
    }

    // A failed webhook post fails the invocation on purpose (see the handler): two retries, then the
    // invocation record goes to the topic.
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: props.failureTopic ? topicDestination(props.failureTopic, role) : undefined,
    });

    // One lambda:InvokeFunction permission per alarm, each with that alarm's ARN as SourceArn.
    this.alarmAction = new cwActions.LambdaAction(this.function, { useUniquePermissionId: true });
    acknowledgeAlarmResponder(this, props.failureTopic !== undefined, props.reservedConcurrentExecutions !== undefined);
  }

  /** An EventBridge target that invokes the function (its permission admits that rule only). */
  eventTarget(): events.IRuleTarget {
    return new targets.LambdaFunction(this.function, { retryAttempts: 8, maxEventAge: Duration.hours(24) });
  }
}

/** A Lambda destination on the topic, granted without the wildcard key actions of SnsDestination. */
function topicDestination(topic: AlarmTopic, role: iam.IRole): lambda.IDestination {
  return {
    bind: () => {
      topic.grantPublish(role);
      return { destination: topic.topic.topicArn };
    },
  };
}
