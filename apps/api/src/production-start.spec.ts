import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

/** The options given to node before the script, in a command line split into words. */
function nodeFlags(words: readonly string[]): string[] {
  const node = words.indexOf('node');
  const script = words.indexOf('dist/apps/api/src/main.js');
  if (node < 0 || script < node)
    throw new Error(`not a node command for the API: ${words.join(' ')}`);
  return words.slice(node + 1, script);
}

describe('production start command', () => {
  const scripts = (
    JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];

  it('runs the API with the same Node flags in the container, npm run start:prod and npm start', () => {
    expect(cmd).toBeDefined();
    const container = nodeFlags(JSON.parse(cmd ?? '[]') as string[]);
    expect(nodeFlags((scripts['start:prod'] ?? '').split(/\s+/))).toEqual(container);
    expect(nodeFlags((scripts.start ?? '').split(/\s+/))).toEqual(container);
    // V8 collecting on the main thread only: its concurrent GC threads would compete for a replica's core.
    expect(container).toContain('--single-threaded-gc');
  });

  it('gives Node flags this Node accepts', () => {
    const flags = nodeFlags((scripts['start:prod'] ?? '').split(/\s+/));
    // An empty script: node exits 0 unless it refuses a flag.
    const run = spawnSync(process.execPath, [...flags, '-e', ''], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
