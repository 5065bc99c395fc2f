// The ops console's one script, served as it is (no build step): the live list. New executions arrive as
// Server-Sent Events from /console/live (with the page's own filter) and are added at the top of the table, built
// with DOM calls and textContent, so no value is ever parsed as HTML.
(function liveList() {
  'use strict';
  const status = document.getElementById('live-status');
  const table = document.getElementById('executions');
  if (!status || !table || !status.dataset.live) return;
  const rows = table.tBodies[0];
  const MAX_ROWS = 200;

  const cell = (content, className) => {
    const td = document.createElement('td');
    if (typeof content === 'string') td.textContent = content;
    else td.append(content);
    if (className) td.className = className;
    return td;
  };

  const rowOf = (summary) => {
    const row = document.createElement('tr');
    row.dataset.name = summary.name;
    row.className = 'new';
    const started = document.createElement('time');
    started.textContent = new Date(summary.startedAt).toISOString();
    const link = document.createElement('a');
    link.className = 'open';
    // The server builds the link; only a console path is ever followed.
    if (String(summary.link).startsWith('/console/')) link.href = summary.link;
    link.textContent = summary.name;
    row.append(
      cell(started),
      cell(link),
      cell(String(summary.status)),
      cell(String(summary.outcome), `outcome-${summary.outcome}`),
      cell(summary.httpStatus === undefined ? '' : String(summary.httpStatus)),
      cell(summary.orderId === undefined ? '' : String(summary.orderId)),
      cell(`${summary.durationMs} ms`, 'number'),
    );
    return row;
  };

  const source = new EventSource(status.dataset.live);
  source.addEventListener('open', () => {
    status.textContent = 'Live: new executions appear here as they end.';
    status.className = 'live on';
  });
  source.addEventListener('error', () => {
    status.textContent = 'Live: disconnected, reconnecting…';
    status.className = 'live off';
  });
  source.addEventListener('execution', (event) => {
    const summary = JSON.parse(event.data);
    const known = Array.from(rows.rows).some((row) => row.dataset.name === summary.name);
    if (known) return;
    rows.prepend(rowOf(summary));
    for (const empty of document.querySelectorAll('p.empty')) empty.remove();
    while (rows.rows.length > MAX_ROWS) rows.deleteRow(-1);
  });
})();
