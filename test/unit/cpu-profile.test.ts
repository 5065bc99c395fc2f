/** The profile summary the bench's CPU profiles are read with: where the sampled time went, and under whom. */
import { describe, expect, it } from '@jest/globals';
import { placeOf, summarize } from '../../tools/cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
const cwd = process.cwd();

// root -> handler (project file) -> evaluate (a package) -> evaluate (same package, recursing) ; root -> (idle)
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
    { id: 2, callFrame: frame('handle', `file://${cwd}/local/iam/role-authorizer.ts`), children: [3] },
    { id: 3, callFrame: frame('evaluate', `file://${cwd}/node_modules/@scope/engine/index.js`), children: [4] },
    { id: 4, callFrame: frame('evaluate', `file://${cwd}/node_modules/@scope/engine/index.js`) },
    { id: 5, callFrame: frame('(idle)', '') },
  ],
  samples: [2, 3, 4, 4, 5],
  timeDeltas: [1000, 1000, 1000, 1000, 1000],
};

describe('cpu-profile', () => {
  it('names a frame by its package, its project file, its Node module, or V8’s pseudo-frame', () => {
    expect(placeOf(`file://${cwd}/node_modules/jsonpath-plus/dist/index.js`, 'x')).toBe('npm:jsonpath-plus');
    expect(placeOf(`file://${cwd}/node_modules/@aws-sdk/core/dist/index.js`, 'x')).toBe('npm:@aws-sdk/core');
    expect(placeOf(`file://${cwd}/local/service.ts`, 'x')).toBe('local/service.ts');
    expect(placeOf('node:internal/fs/promises', 'x')).toBe('node:internal');
    expect(placeOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  it('gives self time by place and by function, and counts a recursing package once per sample', () => {
    const summary = summarize(profile);
    expect(summary.totalMs).toBe(5);
    expect(summary.selfByPlace).toEqual([
      ['npm:@scope/engine', 60],
      ['local/iam/role-authorizer.ts', 20],
      ['(idle)', 20],
    ]);
    expect(summary.selfByFunction[0]).toEqual(['evaluate npm:@scope/engine:1', 60]);
    expect(summary.inclusiveByPlace).toEqual([
      ['local/iam/role-authorizer.ts', 80],
      ['npm:@scope/engine', 60],
    ]);
  });
});
