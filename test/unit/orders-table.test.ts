import { describe, expect, it } from '@jest/globals';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { prepareOrdersTable } from '../../local/dynamodb/orders-table.js';

const tableName = 'orders';
const clients = () => {
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const reader = new DynamoDBClient({ region: 'us-east-1' });
  return { client, reader, tableMock: mockClient(client), readerMock: mockClient(reader) };
};

describe("npm start's orders table", () => {
  it('is created with its time to live, read once, and the event runtime starts only once the table exists', async () => {
    const { client, reader, tableMock, readerMock } = clients();
    const order: string[] = [];
    tableMock.on(CreateTableCommand).callsFake(() => order.push('CreateTable'));
    tableMock.on(UpdateTimeToLiveCommand).callsFake(() => order.push('UpdateTimeToLive'));
    readerMock.on(GetItemCommand).callsFake(() => order.push('GetItem'));
    const started = await prepareOrdersTable({ client, reader, tableName }, async () => {
      order.push('meanwhile');
      return 'events';
    });
    expect(started).toBe('events');
    expect(order[0]).toBe('CreateTable');
    expect(order.slice(1).sort()).toEqual(['GetItem', 'UpdateTimeToLive', 'meanwhile']);
    expect(tableMock.commandCalls(UpdateTimeToLiveCommand)[0]?.args[0].input).toMatchObject({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true },
    });
  });

  it('is left as it is when it exists: no time to live set again', async () => {
    const { client, reader, tableMock, readerMock } = clients();
    tableMock.on(CreateTableCommand).rejects(new ResourceInUseException({ message: 'exists', $metadata: {} }));
    readerMock.on(GetItemCommand).resolves({});
    await expect(prepareOrdersTable({ client, reader, tableName }, async () => 'events')).resolves.toBe('events');
    expect(tableMock.commandCalls(UpdateTimeToLiveCommand)).toHaveLength(0);
    expect(readerMock.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it('fails when a call fails, but only once what ran meanwhile has ended, so that it can be stopped', async () => {
    const { client, reader, tableMock, readerMock } = clients();
    tableMock.on(CreateTableCommand).resolves({});
    tableMock.on(UpdateTimeToLiveCommand).rejects(new Error('disk full'));
    readerMock.on(GetItemCommand).resolves({});
    let ended = false;
    const preparing = prepareOrdersTable({ client, reader, tableName }, async () => {
      await new Promise((wake) => setTimeout(wake, 10));
      ended = true;
    });
    await expect(preparing).rejects.toThrow('disk full');
    expect(ended).toBe(true);
  });

  it('starts nothing when the table cannot be created', async () => {
    const { client, reader, tableMock } = clients();
    tableMock.on(CreateTableCommand).rejects(new Error('no store'));
    let ran = false;
    await expect(
      prepareOrdersTable({ client, reader, tableName }, async () => {
        ran = true;
      }),
    ).rejects.toThrow('no store');
    expect(ran).toBe(false);
  });
});
