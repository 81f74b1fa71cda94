import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { protocolRegistry } from './protocol.registry';

const DOC = readFileSync(path.join(__dirname, '../../../../docs/protocols.md'), 'utf8');
const examples = [...DOC.matchAll(/```json\n(.*)\n```/g)].map(
  (match) => JSON.parse(match[1] ?? '') as { protocol: string; inputs: unknown },
);

/** docs/protocols.md is what partners integrate from: its examples must stay true. */
describe('docs/protocols.md', () => {
  it('documents every published protocol with an example', () => {
    expect(examples.map((example) => example.protocol).sort()).toEqual(protocolRegistry.names());
  });

  it.each(examples.map((example) => [example.protocol, example] as const))(
    'its %s example is accepted as it stands',
    (name, example) => {
      const protocol = protocolRegistry.latest(name);
      expect(protocol?.validate(example.inputs)).toMatchObject({ ok: true });
    },
  );

  it.each(examples.map((example) => [example.protocol, example] as const))(
    'its %s example is the one the OpenAPI document offers',
    (name, example) => {
      expect(example.inputs).toEqual(protocolRegistry.latest(name)?.example);
    },
  );

  it('states the NEWS2 example score the engine computes', () => {
    const example = examples.find((e) => e.protocol === 'news2');
    const protocol = protocolRegistry.latest('news2');
    const checked = protocol?.validate(example?.inputs);
    if (!protocol || !checked?.ok) throw new Error('the NEWS2 example does not validate');
    expect(protocol.score(checked.inputs)).toMatchObject({ score: 6, risk: 'medium' });
    expect(DOC).toContain('Example that scores 6, `medium`');
  });
});
