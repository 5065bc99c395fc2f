/**
 * What the API's AWS service integrations share: no Lambda in between, a role API Gateway calls AWS as, and mapping
 * templates from api/ that shape both the AWS request and the client's answer.
 */
import {
  AwsIntegration,
  type IntegrationResponse,
  type MethodResponse,
  PassthroughBehavior,
} from 'aws-cdk-lib/aws-apigateway';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { ApiTemplateName } from '../../../api/templates.js';
import { REQUEST_ID_HEADER } from '../../../src/contract/order.js';

/**
 * API Gateway picks a request template by Content-Type and a response template by Accept, and takes
 * application/json when the header is absent or (for responses) matches no template: templates that must always
 * apply are registered under it.
 */
export const DEFAULT_MEDIA_TYPE = 'application/json';

/**
 * Integration failures: the AWS API itself answered 4xx/5xx. The templates handle those bodies too; a separate
 * response keeps the base status at 500 should a template ever not override it.
 */
export const INTEGRATION_FAILURE_PATTERN = '[45]\\d{2}';

/** Every answer carries the API request id, which is also the workflow execution's name. */
const REQUEST_ID_MAPPING = { [`method.response.header.${REQUEST_ID_HEADER}`]: 'context.requestId' };

/** An api/ template, its placeholders filled with this stack's resources. */
export type ApiTemplateLoader = (name: ApiTemplateName) => string;

/** What every integration of the API is built with. */
export interface IntegrationContext {
  /** The role API Gateway calls AWS as. */
  readonly role: IRole;
  readonly template: ApiTemplateLoader;
}

export interface ServiceAction {
  readonly service: string;
  readonly action: string;
  /** The one media type the request template applies to: any other Content-Type is refused (415). */
  readonly requestContentType: string;
  readonly requestTemplate: ApiTemplateName;
  /** Sets the final status and headers itself ($context.responseOverride), from what AWS answered. */
  readonly responseTemplate: ApiTemplateName;
}

/** An AWS API action called by API Gateway itself, its request and every answer mapped by api/ templates. */
export function awsIntegration({ role, template }: IntegrationContext, call: ServiceAction): AwsIntegration {
  const mappedResponse = (
    response: Pick<IntegrationResponse, 'statusCode' | 'selectionPattern'>,
  ): IntegrationResponse => ({
    ...response,
    responseTemplates: { [DEFAULT_MEDIA_TYPE]: template(call.responseTemplate) },
    responseParameters: REQUEST_ID_MAPPING,
  });
  return new AwsIntegration({
    service: call.service,
    action: call.action,
    // The AWS JSON APIs take every action as a POST.
    integrationHttpMethod: 'POST',
    options: {
      credentialsRole: role,
      passthroughBehavior: PassthroughBehavior.NEVER,
      requestTemplates: { [call.requestContentType]: template(call.requestTemplate) },
      integrationResponses: [
        mappedResponse({ statusCode: '200' }),
        mappedResponse({ statusCode: '500', selectionPattern: INTEGRATION_FAILURE_PATTERN }),
      ],
    },
  });
}

const declaredHeaders = (...headers: string[]): Record<string, boolean> =>
  Object.fromEntries(headers.map((header) => [`method.response.header.${header}`, true]));

/** The statuses a method answers, each with Content-Type, the request id and the given headers. */
export const methodResponses = (statuses: string[], ...headers: string[]): MethodResponse[] =>
  statuses.map((statusCode) => ({
    statusCode,
    responseParameters: declaredHeaders('Content-Type', REQUEST_ID_HEADER, ...headers),
  }));
