/**
 * The API's two routes, each an AWS service integration with the one permission it needs: POST /orders starts the
 * EXPRESS workflow synchronously, GET /orders/{orderId} reads the order from the table.
 */
import type { IResource } from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { ORDER_REQUEST_CONTENT_TYPE } from '../../../api/templates.js';
import { ORDERS_TABLE } from '../../../src/store/orders-table.js';
import { leadingKeysLike } from '../orders-table.js';
import { awsIntegration, DEFAULT_MEDIA_TYPE, type IntegrationContext, methodResponses } from './integrations.js';

/**
 * POST /orders: StartSyncExecution. The response template sets the final status from the workflow's output;
 * anything but a SUCCEEDED execution (an error of StartSyncExecution included) is a 500 problem, never a 202.
 */
export function addPostOrders(orders: IResource, integration: IntegrationContext, stateMachine: IStateMachine): void {
  integration.role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'StartOrderIntake',
      actions: ['states:StartSyncExecution'],
      resources: [stateMachine.stateMachineArn],
    }),
  );
  orders.addMethod(
    'POST',
    awsIntegration(integration, {
      service: 'states',
      action: 'StartSyncExecution',
      // Bodies of any other media type are refused before the workflow runs.
      requestContentType: ORDER_REQUEST_CONTENT_TYPE,
      requestTemplate: 'postOrdersRequest',
      responseTemplate: 'postOrdersResponse',
    }),
    {
      methodResponses: methodResponses(
        ['200', '202', '400', '409', '413', '422', '500', '503'],
        'Location',
        'Retry-After',
        'Idempotent-Replayed',
      ),
    },
  );
}

/**
 * GET /orders/{orderId}: GetItem of the order item only, never an idempotency lock. The response template answers
 * the item (200), its absence (404) and a DynamoDB error (503 or 500).
 */
export function addGetOrder(orders: IResource, integration: IntegrationContext, table: ITable): void {
  integration.role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadOrders',
      actions: ['dynamodb:GetItem'],
      resources: [table.tableArn],
      conditions: leadingKeysLike(ORDERS_TABLE.orderKeyPrefix),
    }),
  );
  orders.addResource('{orderId}').addMethod(
    'GET',
    awsIntegration(integration, {
      service: 'dynamodb',
      action: 'GetItem',
      requestContentType: DEFAULT_MEDIA_TYPE,
      requestTemplate: 'getOrderRequest',
      responseTemplate: 'getOrderResponse',
    }),
    {
      requestParameters: { 'method.request.path.orderId': true },
      methodResponses: methodResponses(['200', '404', '500', '503'], 'Retry-After'),
    },
  );
}
