/** Valid orders that are each a new order (a distinct clientReference), never a duplicate of another. */
export function uniqueOrders(label: string): () => string {
  let sequence = 0;
  return () =>
    JSON.stringify({
      customerId: 'CUST-BENCH001',
      items: [{ sku: 'SKU-00012345', quantity: 1 + (sequence % 100) }],
      clientReference: `${label}-${process.pid}-${++sequence}`,
    });
}
