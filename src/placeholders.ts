/**
 * `${Name}` placeholders, with Step Functions' definitionSubstitutions semantics: every placeholder must have a
 * value, and values are escaped for the JSON strings they land in. Used for the workflow definition (locally) and
 * for the API mapping templates (locally and in the CDK stack).
 */
export function substitutePlaceholders(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for placeholder \${${name}}`);
    return JSON.stringify(value).slice(1, -1);
  });
}
