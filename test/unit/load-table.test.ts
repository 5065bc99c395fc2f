/** The bench's and the load test's tables say the unit of every figure they print. */
import { expect, it } from '@jest/globals';
import { latencyFigures, tableRow } from '../../tools/open-load.js';

it('heads every column of a load table with its unit', () => {
  const row = tableRow({
    offered: 80,
    achieved: 79.5,
    requests: 800,
    seconds: 10,
    ...latencyFigures([12, 15, 40, 300]),
    statuses: { '202': 799, '503': 1 },
  });

  expect(Object.keys(row).filter((heading) => !/ \((req\/s|s|ms|count)\)$/.test(heading))).toEqual([]);
  expect(row).toMatchObject({ 'p95 (ms)': 300, 'achieved (req/s)': 79.5, 'duration (s)': 10 });
});
