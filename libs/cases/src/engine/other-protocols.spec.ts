import { cha2ds2vascV1 } from './cha2ds2vasc.protocol';
import { curb65V1 } from './curb65.protocol';
import { GENERIC_MAX_BYTES, genericV1 } from './generic.protocol';
import { protocolRegistry, ProtocolRegistry } from './protocol.registry';
import { qsofaV1 } from './qsofa.protocol';

describe('qSOFA', () => {
  const base = { respiratory_rate: 16, altered_mentation: false, systolic_bp: 120 };
  it.each([
    [{}, 0, false],
    [{ respiratory_rate: 21 }, 0, false],
    [{ respiratory_rate: 22 }, 1, false],
    [{ systolic_bp: 101 }, 0, false],
    [{ systolic_bp: 100 }, 1, false],
    [{ altered_mentation: true }, 1, false],
    [{ respiratory_rate: 22, systolic_bp: 100 }, 2, true],
    [{ respiratory_rate: 30, systolic_bp: 85, altered_mentation: true }, 3, true],
  ])('%j scores %i (positive: %s)', (changes, score, positive) => {
    expect(qsofaV1.score({ ...base, ...changes })).toMatchObject({ score, positive });
  });
  it('validates', () => {
    expect(qsofaV1.validate({ ...base, systolic_bp: 'low' }).ok).toBe(false);
    expect(qsofaV1.validate(base).ok).toBe(true);
  });
});

describe('CURB-65', () => {
  const base = {
    confusion: false,
    urea_mmol_l: 5.0,
    respiratory_rate: 18,
    systolic_bp: 120,
    diastolic_bp: 80,
    age: 50,
  };
  it.each([
    [{}, 0, 'low'],
    [{ urea_mmol_l: 7.0 }, 0, 'low'],
    [{ urea_mmol_l: 7.1 }, 1, 'low'],
    [{ respiratory_rate: 29 }, 0, 'low'],
    [{ respiratory_rate: 30 }, 1, 'low'],
    [{ systolic_bp: 90 }, 0, 'low'],
    [{ systolic_bp: 89 }, 1, 'low'],
    [{ diastolic_bp: 61 }, 0, 'low'],
    [{ diastolic_bp: 60 }, 1, 'low'],
    [{ systolic_bp: 85, diastolic_bp: 55 }, 1, 'low'],
    [{ age: 64 }, 0, 'low'],
    [{ age: 65 }, 1, 'low'],
    [{ confusion: true, age: 70 }, 2, 'moderate'],
    [{ confusion: true, age: 70, urea_mmol_l: 8.2 }, 3, 'high'],
    [
      { confusion: true, age: 80, urea_mmol_l: 9, respiratory_rate: 32, systolic_bp: 85 },
      5,
      'high',
    ],
  ])('%j scores %i (%s)', (changes, score, risk) => {
    expect(curb65V1.score({ ...base, ...changes })).toMatchObject({ score, risk });
  });
  it('validates urea to one decimal', () => {
    expect(curb65V1.validate({ ...base, urea_mmol_l: 7.05 }).ok).toBe(false);
  });
});

describe('CHA2DS2-VASc', () => {
  const base = {
    chf: false,
    hypertension: false,
    age: 50,
    diabetes: false,
    stroke_tia_thromboembolism: false,
    vascular_disease: false,
    sex: 'male' as const,
  };
  it.each([
    [{}, 0],
    [{ sex: 'female' as const }, 1],
    [{ age: 64 }, 0],
    [{ age: 65 }, 1],
    [{ age: 74 }, 1],
    [{ age: 75 }, 2],
    [{ chf: true }, 1],
    [{ hypertension: true }, 1],
    [{ diabetes: true }, 1],
    [{ stroke_tia_thromboembolism: true }, 2],
    [{ vascular_disease: true }, 1],
    [
      {
        chf: true,
        hypertension: true,
        age: 80,
        diabetes: true,
        stroke_tia_thromboembolism: true,
        vascular_disease: true,
        sex: 'female' as const,
      },
      9,
    ],
  ])('%j scores %i', (changes, score) => {
    expect(cha2ds2vascV1.score({ ...base, ...changes }).score).toBe(score);
  });
  it('validates sex', () => {
    expect(cha2ds2vascV1.validate({ ...base, sex: 'F' }).ok).toBe(false);
  });
});

describe('generic', () => {
  it('takes any object up to 64 KiB and scores nothing', () => {
    expect(genericV1.validate({ note: 'x', nested: { a: [1, 2] } }).ok).toBe(true);
    expect(genericV1.score({ a: 1 })).toBeNull();
  });
  it('refuses more than 64 KiB and non-objects', () => {
    expect(genericV1.validate({ note: 'x'.repeat(GENERIC_MAX_BYTES) }).ok).toBe(false);
    expect(genericV1.validate('text').ok).toBe(false);
    expect(genericV1.validate(null).ok).toBe(false);
  });
});

describe('protocol registry', () => {
  it('knows the five protocols by name and exact version', () => {
    expect(protocolRegistry.names()).toEqual([
      'cha2ds2vasc',
      'curb65',
      'generic',
      'news2',
      'qsofa',
    ]);
    expect(protocolRegistry.exact('news2@1.0.0')).toBe(protocolRegistry.latest('news2'));
    expect(protocolRegistry.exact('news2@9.9.9')).toBeUndefined();
  });

  it('keeps old versions beside the latest', () => {
    const v2 = {
      ...qsofaV1,
      version: '1.10.0',
      score: () => ({
        score: 42,
        positive: true,
        criteria: { respiratory_rate: 0, altered_mentation: 0, systolic_bp: 0 },
      }),
    };
    const registry = new ProtocolRegistry([qsofaV1, v2, { ...qsofaV1, version: '1.2.0' }]);
    expect(registry.latest('qsofa')?.version).toBe('1.10.0');
    expect(registry.exact('qsofa@1.0.0')).toBe(qsofaV1);
    expect(() => new ProtocolRegistry([qsofaV1, qsofaV1])).toThrow(/registered twice/);
  });
});
