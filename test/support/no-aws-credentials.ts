/** Runs `work` where the default credential chain finds nothing: no AWS_ variable, no files, no instance metadata. */
export async function withoutAwsCredentials<T>(work: () => Promise<T>): Promise<T> {
  const saved = process.env;
  process.env = {
    ...Object.fromEntries(Object.entries(saved).filter(([name]) => !name.startsWith('AWS_'))),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
  };
  try {
    return await work();
  } finally {
    process.env = saved;
  }
}
