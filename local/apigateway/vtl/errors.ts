/** Errors of the local mapping templates. Each names the template, since a request may render several. */
export class MappingTemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MappingTemplateError';
  }
}

/**
 * A template uses a variable, member or method API Gateway has but the emulation does not: rendering it as nothing
 * would hide a template that may well work in AWS, or may not.
 */
export class NotEmulatedError extends MappingTemplateError {
  constructor(template: string, what: string) {
    super(`template ${template}: ${what} is not emulated locally (local/apigateway/vtl)`);
    this.name = 'NotEmulatedError';
  }
}
