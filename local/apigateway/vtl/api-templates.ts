/** The project's API mapping templates (api/*.vtl), parsed once for the life of the process. */
import {
  API_TEMPLATE_FILES,
  loadApiTemplate,
  type ApiTemplateName,
  type ApiTemplateResources,
} from '../../../api/templates.js';
import { MappingTemplate } from './mapping-template.js';

export type ApiMappingTemplates = Readonly<Record<ApiTemplateName, MappingTemplate>>;

export function loadApiMappingTemplates(resources: ApiTemplateResources): ApiMappingTemplates {
  const names = Object.keys(API_TEMPLATE_FILES) as ApiTemplateName[];
  return Object.fromEntries(
    names.map((name) => [name, new MappingTemplate(name, loadApiTemplate(name, resources))]),
  ) as Record<ApiTemplateName, MappingTemplate>;
}
