import {
  news2V1,
  pulsePoints,
  respirationPoints,
  spo2Scale1Points,
  spo2Scale2Points,
  systolicPoints,
  temperaturePoints,
  type News2Inputs,
} from './news2.protocol';

/** Both sides of every threshold on the RCP NEWS2 chart. */
describe('NEWS2 bands', () => {
  it.each([
    [0, 3],
    [8, 3],
    [9, 1],
    [11, 1],
    [12, 0],
    [20, 0],
    [21, 2],
    [24, 2],
    [25, 3],
    [60, 3],
  ])('respiration rate %i scores %i', (rate, points) => {
    expect(respirationPoints(rate)).toBe(points);
  });

  it.each([
    [50, 3],
    [91, 3],
    [92, 2],
    [93, 2],
    [94, 1],
    [95, 1],
    [96, 0],
    [100, 0],
  ])('SpO2 scale 1: %i%% scores %i', (spo2, points) => {
    expect(spo2Scale1Points(spo2)).toBe(points);
  });

  it.each([
    [83, false, 3],
    [84, false, 2],
    [85, false, 2],
    [86, false, 1],
    [87, false, 1],
    [88, false, 0],
    [92, false, 0],
    [93, false, 0],
    [97, false, 0],
    [100, false, 0],
    [83, true, 3],
    [87, true, 1],
    [88, true, 0],
    [92, true, 0],
    [93, true, 1],
    [94, true, 1],
    [95, true, 2],
    [96, true, 2],
    [97, true, 3],
    [100, true, 3],
  ])('SpO2 scale 2: %i%% (on oxygen: %s) scores %i', (spo2, onOxygen, points) => {
    expect(spo2Scale2Points(spo2, onOxygen)).toBe(points);
  });

  it.each([
    [40, 3],
    [90, 3],
    [91, 2],
    [100, 2],
    [101, 1],
    [110, 1],
    [111, 0],
    [219, 0],
    [220, 3],
    [280, 3],
  ])('systolic %i mmHg scores %i', (systolic, points) => {
    expect(systolicPoints(systolic)).toBe(points);
  });

  it.each([
    [30, 3],
    [40, 3],
    [41, 1],
    [50, 1],
    [51, 0],
    [90, 0],
    [91, 1],
    [110, 1],
    [111, 2],
    [130, 2],
    [131, 3],
    [200, 3],
  ])('pulse %i scores %i', (pulse, points) => {
    expect(pulsePoints(pulse)).toBe(points);
  });

  it.each([
    [34.0, 3],
    [35.0, 3],
    [35.1, 1],
    [36.0, 1],
    [36.1, 0],
    [38.0, 0],
    [38.1, 1],
    [39.0, 1],
    [39.1, 2],
    [41.0, 2],
  ])('temperature %d °C scores %i', (celsius, points) => {
    expect(temperaturePoints(celsius)).toBe(points);
  });
});

const normal: News2Inputs = {
  respiration_rate: 16,
  spo2: 97,
  spo2_scale: 1,
  on_oxygen: false,
  systolic_bp: 125,
  pulse: 75,
  consciousness: 'alert',
  temperature: 37.0,
};

const score = (changes: Partial<News2Inputs>) => news2V1.score({ ...normal, ...changes });

describe('NEWS2 aggregate, risk and response (cases worked by hand on the RCP chart)', () => {
  it('a well patient scores 0: low risk, routine monitoring', () => {
    const result = score({});
    expect(result).toMatchObject({ score: 0, risk: 'low' });
    expect(result.response).toMatch(/routine NEWS monitoring/);
    expect(Object.values(result.subscores).every((p) => p === 0)).toBe(true);
  });

  it('RR 22, SpO2 94, SBP 105, pulse 95, 38.3 °C: 2+1+1+1+1 = 6, medium', () => {
    const result = score({
      respiration_rate: 22,
      spo2: 94,
      systolic_bp: 105,
      pulse: 95,
      temperature: 38.3,
    });
    expect(result.subscores).toEqual({
      respiration_rate: 2,
      spo2: 1,
      air_or_oxygen: 0,
      systolic_bp: 1,
      pulse: 1,
      consciousness: 0,
      temperature: 1,
    });
    expect(result).toMatchObject({ score: 6, risk: 'medium' });
    expect(result.response).toMatch(/urgent assessment/);
  });

  it('everything deranged on oxygen: 3+3+2+3+3+3+2 = 19, high', () => {
    const result = score({
      respiration_rate: 26,
      spo2: 90,
      on_oxygen: true,
      systolic_bp: 88,
      pulse: 135,
      consciousness: 'cvpu',
      temperature: 39.5,
    });
    expect(result).toMatchObject({ score: 19, risk: 'high' });
    expect(result.response).toMatch(/critical care/);
  });

  it('new confusion alone scores 3: a single red parameter makes it low-medium', () => {
    const result = score({ consciousness: 'cvpu' });
    expect(result).toMatchObject({ score: 3, risk: 'low-medium' });
    expect(result.response).toMatch(/Minimum 1 hourly/);
  });

  it('an aggregate of 3 without a single 3 stays low', () => {
    expect(score({ respiration_rate: 22, pulse: 95 })).toMatchObject({ score: 3, risk: 'low' });
  });

  it('a single 3 within an aggregate of 5 is medium, of 7 high (aggregate bands take precedence)', () => {
    expect(score({ systolic_bp: 88, respiration_rate: 22 })).toMatchObject({
      score: 5,
      risk: 'medium',
    });
    expect(score({ systolic_bp: 88, respiration_rate: 22, on_oxygen: true })).toMatchObject({
      score: 7,
      risk: 'high',
    });
  });

  it('aggregate band edges: 4 low, 5 medium, 6 medium, 7 high', () => {
    expect(score({ respiration_rate: 22, pulse: 111 }).score).toBe(4);
    expect(score({ respiration_rate: 22, pulse: 111 }).risk).toBe('low');
    expect(score({ respiration_rate: 22, pulse: 111, temperature: 38.5 })).toMatchObject({
      score: 5,
      risk: 'medium',
    });
    expect(score({ respiration_rate: 22, pulse: 111, temperature: 39.5 })).toMatchObject({
      score: 6,
      risk: 'medium',
    });
    expect(
      score({ respiration_rate: 22, pulse: 111, temperature: 39.5, systolic_bp: 105 }),
    ).toMatchObject({ score: 7, risk: 'high' });
  });

  it('scale 2 on oxygen at 95%: 2 for SpO2 and 2 for oxygen = 4, low', () => {
    const result = score({ spo2_scale: 2, spo2: 95, on_oxygen: true });
    expect(result.subscores).toMatchObject({ spo2: 2, air_or_oxygen: 2 });
    expect(result).toMatchObject({ score: 4, risk: 'low' });
  });

  it('scale 2 on air at 95%: nothing for SpO2', () => {
    expect(score({ spo2_scale: 2, spo2: 95 }).score).toBe(0);
  });

  it('the same inputs always give the same result', () => {
    const inputs = { ...normal, respiration_rate: 23, spo2: 93 };
    expect(news2V1.score(inputs)).toEqual(news2V1.score({ ...inputs }));
  });
});

describe('NEWS2 input validation', () => {
  it('accepts a complete, plausible set', () => {
    expect(news2V1.validate(normal)).toEqual({ ok: true, inputs: normal });
    expect(news2V1.validate({ ...normal, temperature: 37 }).ok).toBe(true);
  });

  it('names every bad field', () => {
    const result = news2V1.validate({
      respiration_rate: 16.5,
      spo2: 101,
      spo2_scale: 3,
      on_oxygen: 'yes',
      systolic_bp: '120',
      consciousness: 'confused',
      temperature: 37.25,
      heart_rate: 80,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(
      [
        'consciousness',
        'heart_rate',
        'on_oxygen',
        'pulse',
        'respiration_rate',
        'spo2',
        'spo2_scale',
        'systolic_bp',
        'temperature',
      ].sort(),
    );
    expect(result.errors.respiration_rate).toEqual(['respiration_rate must be an integer']);
    expect(result.errors.temperature).toEqual(['temperature must have at most 1 decimal place']);
    expect(result.errors.pulse).toEqual(['pulse is required']);
    expect(result.errors.heart_rate).toEqual(['heart_rate is not an input of this protocol']);
  });

  it.each([
    ['respiration_rate', 81],
    ['spo2', 49],
    ['systolic_bp', 301],
    ['pulse', 19],
    ['temperature', 45.1],
    ['temperature', 24.9],
  ])('refuses an implausible %s of %d', (field, value) => {
    const result = news2V1.validate({ ...normal, [field]: value });
    expect(result.ok).toBe(false);
  });

  it('refuses a non-object', () => {
    expect(news2V1.validate([normal])).toEqual({
      ok: false,
      errors: { inputs: ['inputs must be a JSON object'] },
    });
  });
});
