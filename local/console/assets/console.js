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

  const link = (href, text, className) => {
    const a = document.createElement('a');
    a.href = href;
    a.className = className;
    a.textContent = text;
    return a;
  };

  // The same cells as the server's rows (pages.ts summaryRow): the request id opens the execution, the orderId
  // the order.
  const rowOf = (summary) => {
    const row = document.createElement('tr');
    row.dataset.name = summary.name;
    row.className = 'new';
    const iso = new Date(summary.startedAt).toISOString();
    const started = document.createElement('time');
    started.dateTime = iso;
    started.textContent = iso;
    const ago = document.createElement('small');
    ago.className = 'ago';
    ago.textContent = 'just now';
    const when = document.createElement('td');
    when.append(started, ' ', ago);
    row.append(
      when,
      cell(link(`/console/executions/${encodeURIComponent(summary.name)}`, String(summary.name), 'open')),
      cell(String(summary.status)),
      cell(String(summary.outcome), `outcome-${summary.outcome}`),
      cell(summary.httpStatus === undefined ? '' : String(summary.httpStatus), 'http'),
      summary.orderId === undefined
        ? cell('')
        : cell(link(`/console/orders/${encodeURIComponent(summary.orderId)}`, String(summary.orderId), 'order')),
      cell(summary.customerId === undefined ? '' : String(summary.customerId)),
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

// A state clicked on the graph (or any #state-… link) opens that visit's input and changes.
(function openTarget() {
  'use strict';
  const open = () => {
    const id = decodeURIComponent(globalThis.location.hash.slice(1));
    const target = id ? document.getElementById(id) : null;
    if (!target) return;
    for (const details of target.querySelectorAll('details')) details.open = true;
  };
  globalThis.addEventListener('hashchange', open);
  open();
})();
