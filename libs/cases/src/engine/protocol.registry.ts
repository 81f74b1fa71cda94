import { cha2ds2vascV1 } from './cha2ds2vasc.protocol';
import { curb65V1 } from './curb65.protocol';
import { genericV1 } from './generic.protocol';
import { news2V1 } from './news2.protocol';
import { qsofaV1 } from './qsofa.protocol';
import { engineVersionOf, type Protocol } from './protocol';

/**
 * Every protocol version ever published. Append a new version; never edit or
 * remove one: cases store their `engine_version` and are re-run by exactly it.
 */
const PUBLISHED: readonly Protocol[] = [
  news2V1,
  qsofaV1,
  curb65V1,
  cha2ds2vascV1,
  genericV1,
] as Protocol[];

export class ProtocolRegistry {
  private readonly byEngineVersion = new Map<string, Protocol>();
  private readonly latestByName = new Map<string, Protocol>();

  constructor(protocols: readonly Protocol[]) {
    for (const protocol of protocols) {
      const key = engineVersionOf(protocol);
      if (this.byEngineVersion.has(key)) throw new Error(`protocol ${key} registered twice`);
      this.byEngineVersion.set(key, protocol);
      const latest = this.latestByName.get(protocol.name);
      if (!latest || compareSemver(protocol.version, latest.version) > 0) {
        this.latestByName.set(protocol.name, protocol);
      }
    }
  }

  /** The current version of a protocol, for new cases. */
  latest(name: string): Protocol | undefined {
    return this.latestByName.get(name);
  }

  /** An exact version, e.g. `news2@1.0.0`, for re-scoring and replay. */
  exact(engineVersion: string): Protocol | undefined {
    return this.byEngineVersion.get(engineVersion);
  }

  /** The current version of every protocol, in the order they were first published. */
  current(): Protocol[] {
    return [...this.latestByName.values()];
  }

  names(): string[] {
    return [...this.latestByName.keys()].sort();
  }
}

export function compareSemver(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export const protocolRegistry = new ProtocolRegistry(PUBLISHED);
