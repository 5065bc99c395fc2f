/**
 * The CDK app. Synthesizes offline and without credentials: the stack is environment-agnostic (no lookups), and
 * cdk-nag's AwsSolutions checks run on every synth, failing it on any finding not acknowledged with a reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readDeploymentConfig } from '../lib/deployment-config.js';
import { OrderIntakeStack } from '../lib/order-intake-stack.js';

const app = new App();
// `-c stackName=...`: two stacks side by side in one account and Region (docs/deploy.md).
new OrderIntakeStack(app, readDeploymentConfig(app.node).stackName, {
  description: 'Order Intake: API Gateway -> Step Functions Express -> DynamoDB + EventBridge',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
