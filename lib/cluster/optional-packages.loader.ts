/**
 * Imports optional peer dependencies by name. When some are not installed, the error names every one
 * of them and the command that installs them, instead of the first "Cannot find module".
 */
export async function importOptionalPackages(
  purpose: string,
  packages: readonly { name: string; range: string }[],
): Promise<unknown[]> {
  const results = await Promise.allSettled(packages.map(({ name }) => import(name)));
  const missing = packages.filter((pkg, index) => {
    const result = results[index];
    return result.status === 'rejected' && isNotFound(result.reason, pkg.name);
  });
  if (missing.length > 0) {
    const specs = missing.map(({ name, range }) => `${name}@${range}`).join(' ');
    throw new Error(
      `MqttWsModule: ${purpose} needs ${missing.map(({ name }) => name).join(' and ')}, ` +
        `optional dependencies the app installs itself: npm install ${specs}`,
    );
  }
  return results.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    const namespace = result.value as { default?: unknown };
    return namespace.default ?? namespace;
  });
}

function isNotFound(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  // Node says ERR_MODULE_NOT_FOUND, CommonJS loaders (and Jest) MODULE_NOT_FOUND; a package that is
  // there but misses one of its own dependencies is reported as it is.
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && `${message}`.includes(`'${name}'`);
}
