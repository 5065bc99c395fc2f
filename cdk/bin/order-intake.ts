/**
 * The CDK app. Synthesizes offline and without credentials: the stack is environment-agnostic (no lookups), and
 * cdk-nag's AwsSolutions checks run on every synth, failing it on any finding not acknowledged with a reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OrderIntakeStack } from '../lib/order-intake-stack.js';

const app = new App();
new OrderIntakeStack(app, 'OrderIntake', {
  description: 'Order Intake: API Gateway -> Step Functions Express -> DynamoDB + EventBridge',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
