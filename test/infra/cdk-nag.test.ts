/**
 * cdk-nag (AwsSolutions) passes with no finding left unacknowledged, for the default context and for the settings
 * that lower a control on purpose; and every acknowledgement is specific: it names a finding that really occurs on
 * that construct, with a reason.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildOrderIntake, synthOrderIntake } from './synth-order-intake.js';

/** What AwsSolutions still reports, one line per finding and resource (readable when a test fails). */
function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
  );
}

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgementsIn(scope: IConstruct): Acknowledgement[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** The settings that switch a control off on purpose: each must come with its own acknowledgement. */
const LOWERED_CONTROLS = {
  apiAuthorization: 'NONE',
  apiAllowedSourceIps: '203.0.113.0/24',
  apiCloudWatchRole: 'false',
  workflowLogLevel: 'ERROR',
};
/** An API without authorization synthesizes only with its callers limited. */
const OPEN = { apiAuthorization: 'NONE', apiAllowedSourceIps: '203.0.113.0/24' };

afterEach(() => {
  jest.restoreAllMocks();
});

describe.each([
  ['the default context', {}],
  ['API auth NONE, no API execution logs and workflow log level ERROR', LOWERED_CONTROLS],
])('with %s', (_name, context) => {
  let synthesized: ReturnType<typeof synthOrderIntake>;
  beforeAll(() => {
    synthesized = synthOrderIntake({ context });
  });

  it('leaves no AwsSolutions finding unacknowledged, and CDK itself reports no error or warning', () => {
    expect(findings(synthesized.app)).toEqual([]);
    expect(Annotations.fromStack(synthesized.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(synthesized.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('acknowledges only findings that occur, on the construct they occur under, each with a reason', () => {
    const acknowledged = acknowledgementsIn(synthesized.app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThanOrEqual(60);

    jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const unacknowledged = findings(buildOrderIntake({ context }).app);
    for (const { path, id } of acknowledged) {
      expect(unacknowledged).toContainEqual(
        expect.stringMatching(new RegExp(`^${escape(id)} at ${escape(path)}(/|$)`)),
      );
    }
  });
});

describe('acknowledgements whose reason depends on a setting', () => {
  const reasonFor = (id: string, context: Record<string, unknown>): string | undefined =>
    acknowledgementsIn(buildOrderIntake({ context }).app).find((acknowledged) => acknowledged.id === id)?.reason;

  it('COG4 (no Cognito user pool) names IAM (SigV4) only when the methods use it', () => {
    expect(reasonFor('AwsSolutions-COG4', {})).toMatch(/IAM \(SigV4\) authorization/);
    const open = reasonFor('AwsSolutions-COG4', OPEN);
    expect(open).toMatch(/apiAuthorization=NONE/);
    expect(open).not.toMatch(/IAM|SigV4/);
  });

  it('APIG3 (no WAF) mentions SigV4 callers only when the methods require SigV4', () => {
    expect(reasonFor('AwsSolutions-APIG3', {})).toMatch(/signing with SigV4/);
    expect(reasonFor('AwsSolutions-APIG3', OPEN)).not.toMatch(/SigV4/);
  });

  it('APIG4 (no authorization) is acknowledged only with apiAuthorization=NONE', () => {
    expect(reasonFor('AwsSolutions-APIG4', {})).toBeUndefined();
    expect(reasonFor('AwsSolutions-APIG4', OPEN)).toMatch(/apiAuthorization=NONE/);
  });
});

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
