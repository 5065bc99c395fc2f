/**
 * The definitions AWS runs, resolved to the local stand-ins of what the stack names per deployment: the workflow's
 * ASL, the API's mapping templates and its published documents. Loading them needs no DynamoDB, so npm start does it
 * while DynamoDB Local's JVM boots.
 */
import { loadAsyncApiDocument, loadOpenApiDocument } from './apigateway/openapi.js';
import { loadApiMappingTemplates } from './apigateway/vtl/api-templates.js';
import { LOCAL_RESOURCES } from './local-account.js';
import { loadOrderStateMachine } from './stepfunctions/order-workflow.js';

export function loadLocalDefinitions() {
  return {
    stateMachine: loadOrderStateMachine({
      ValidateFunctionArn: LOCAL_RESOURCES.validateFunctionArn,
      OrdersTableName: LOCAL_RESOURCES.tableName,
      EventBusName: LOCAL_RESOURCES.busName,
    }),
    templates: loadApiMappingTemplates({
      StateMachineArn: LOCAL_RESOURCES.stateMachineArn,
      OrdersTableName: LOCAL_RESOURCES.tableName,
    }),
    openApi: loadOpenApiDocument(),
    asyncApi: loadAsyncApiDocument(),
  };
}
