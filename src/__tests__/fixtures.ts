import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A JSON file of src/__tests__/fixtures, read from the source tree (the tests run compiled in
 * node_modules/.cache/nbsync-unit/__tests__, four levels below the checkout).
 */
export function readFixture<T>(name: string): T {
  const path = join(
    __dirname,
    '..',
    '..',
    '..',
    '..',
    'src',
    '__tests__',
    'fixtures',
    name
  );
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
