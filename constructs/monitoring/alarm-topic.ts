import { Names, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

import { acknowledgeAlarmTopic } from './alarm-topic-acknowledgements';

/** Properties of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Key that encrypts messages at rest. Its key policy is extended so that CloudWatch alarms and EventBridge
   * can publish; a key from outside this app must already allow that.
   */
  readonly masterKey: kms.IKey;

  /**
   * Email addresses to subscribe (each confirms by email).
   * @default - no subscriptions
   */
  readonly emails?: string[];

  /**
   * Name shown as the sender of email notifications.
   * @default 'Deep-learning platform alarms'
   */
  readonly displayName?: string;
}

// The two actions SNS needs from a publisher on an encrypted topic: no wildcards.
const PUBLISH_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * The SNS topic alarms and incidents go to: KMS-encrypted, TLS-only (a deny for non-TLS requests), and open
 * only to the publishers it names: CloudWatch alarms with a given name prefix, one EventBridge rule at a
 * time, and grantees of {@link grantPublish}.
 */
export class AlarmTopic extends Construct {
  /** The topic. */
  readonly topic: sns.Topic;
  private readonly masterKey: kms.IKey;
  private eventBridgeUsesKey = false;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.masterKey = props.masterKey;
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'Deep-learning platform alarms',
      masterKey: props.masterKey,
      enforceSSL: true,
    });
    for (const email of props.emails ?? []) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    acknowledgeAlarmTopic(this);
  }

  /** Lets the CloudWatch alarms of this account and region whose names start with `namePrefix` publish. */
  allowAlarms(namePrefix: string): void {
    const stack = Stack.of(this);
    // The confused-deputy guard (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html): the
    // service may use the key and the topic only for these alarms of this account.
    const fromTheseAlarms = {
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${namePrefix}*` },
      StringEquals: { 'aws:SourceAccount': stack.account },
    };
    // CloudWatch encrypts what it publishes with the topic's key, as itself
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    this.masterKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsUseTheTopicKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: PUBLISH_KEY_ACTIONS,
        resources: ['*'],
        conditions: fromTheseAlarms,
      }),
    );
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromTheseAlarms,
      }),
    );
  }

  /**
   * A target for `rule` that publishes `message` to the topic; the topic policy admits that rule only.
   * (aws-events-targets' SnsTopic admits any rule of EventBridge, and grants kms:GenerateDataKey*.)
   */
  eventTarget(message?: events.RuleTargetInput): events.IRuleTarget {
    return {
      bind: (rule: events.IRule) => {
        this.allowEventBridgeToUseKey();
        this.topic.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: `EventRule${Names.uniqueId(rule)}`,
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [this.topic.topicArn],
            conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn }, StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
          }),
        );
        return { arn: this.topic.topicArn, input: message, targetResource: this.topic };
      },
    };
  }

  /**
   * EventBridge encrypts what it publishes with the topic's key, as itself. This key statement carries no
   * aws:SourceArn or aws:SourceAccount condition on purpose: EventBridge's KMS requests to an encrypted topic do
   * not carry those keys, so such a condition would drop every event (AWS: "Enable compatibility between event
   * sources from AWS services and encrypted topics",
   * https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). The
   * confused-deputy guard is the topic policy instead: only the bound rule of this account may publish, and
   * the key alone lets no one publish.
   */
  private allowEventBridgeToUseKey(): void {
    if (this.eventBridgeUsesKey) return;
    this.eventBridgeUsesKey = true;
    this.masterKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeRulesUseTheTopicKey',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: PUBLISH_KEY_ACTIONS,
        resources: ['*'],
      }),
    );
  }

  /** Lets `grantee` publish: sns:Publish on the topic, and the two key actions an encrypted topic needs. */
  grantPublish(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn] });
    this.masterKey.grant(grantee, ...PUBLISH_KEY_ACTIONS);
    return grant;
  }
}
