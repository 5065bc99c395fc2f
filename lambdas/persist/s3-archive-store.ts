import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { ArchiveOutcome, ArchiveStore } from '../../src/archive/archive-order.js';
import { ArchiveStoreError } from '../../src/archive/errors.js';

let sharedClient: S3Client | undefined;
/** One client per container, created on first use. */
export const defaultS3Client = (): S3Client => (sharedClient ??= new S3Client({}));

/**
 * - 412 PreconditionFailed: the object exists.
 * - 409 ConditionalRequestConflict: another conditional write of the same key is in flight. That write carries the
 *   same order (both deliveries are one OrderAccepted), and if it fails its own message is redelivered, so treating
 *   this one as done loses nothing.
 */
const ALREADY_THERE = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

/** The archive in S3; `If-None-Match: *` makes the put a create that never overwrites. */
export class S3ArchiveStore implements ArchiveStore {
  constructor(
    private readonly bucketName: string,
    private readonly client: S3Client = defaultS3Client(),
  ) {}

  async createIfAbsent(key: string, body: string): Promise<ArchiveOutcome> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucketName,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
      return 'created';
    } catch (error) {
      if (error instanceof S3ServiceException && ALREADY_THERE.has(error.name)) return 'exists';
      throw new ArchiveStoreError(`cannot write s3://${this.bucketName}/${key}`, key, { cause: error });
    }
  }
}
