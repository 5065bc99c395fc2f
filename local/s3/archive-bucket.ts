/**
 * The archive bucket on this machine: a folder, written as the consumer's role may write the bucket. Each object's
 * PutObject is authorized against the deployed policy first, and a refusal is S3's own AccessDenied.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { ArchiveOutcome, ArchiveStore } from '../../src/archive/archive-order.js';
import { s3ObjectArn } from '../iam/deployed-roles.js';
import type { RoleAuthorizer } from '../iam/role-authorizer.js';
import { FolderArchiveStore } from './folder-archive-store.js';

/** The archive bucket's folder, under the data folder. */
export const ARCHIVE_FOLDER = 'archive';

class AuthorizedArchiveStore implements ArchiveStore {
  constructor(
    private readonly store: ArchiveStore,
    private readonly bucketName: string,
    private readonly iam: RoleAuthorizer,
  ) {}

  async createIfAbsent(key: string, body: string): Promise<ArchiveOutcome> {
    await this.iam.authorizeAs(
      [{ action: 's3:PutObject', resource: s3ObjectArn(this.bucketName, key) }],
      (denial) =>
        new S3ServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
          message: denial.message,
        }),
    );
    return this.store.createIfAbsent(key, body);
  }
}

export interface ArchiveBucketOptions {
  /** The folder that holds the objects. */
  folder: string;
  /** The bucket the folder stands in for: the consumer's policy names its objects. */
  bucketName: string;
  /** The caller's deployed role. */
  iam: RoleAuthorizer;
}

/** The bucket, once the folder holds no write a crash interrupted. */
export async function openArchiveBucket({ folder, bucketName, iam }: ArchiveBucketOptions): Promise<ArchiveStore> {
  const store = new FolderArchiveStore(folder);
  await store.sweepInterruptedWrites();
  return new AuthorizedArchiveStore(store, bucketName, iam);
}
