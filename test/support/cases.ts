import type { components } from '@clincore/client';
import type request from 'supertest';

type Http = ReturnType<typeof request>;

/** NEWS2 inputs that score 6 (medium), typed as the document describes them. */
export const NEWS2_INPUTS: components['schemas']['News2Inputs'] = {
  respiration_rate: 22,
  spo2: 94,
  spo2_scale: 1,
  on_oxygen: false,
  systolic_bp: 105,
  pulse: 95,
  consciousness: 'alert',
  temperature: 38.3,
};

export async function createCase(
  http: Http,
  apiKey: string,
  body: Record<string, unknown> = { protocol: 'news2', subject_ref: 'MRN-1', inputs: NEWS2_INPUTS },
): Promise<Record<string, unknown> & { id: string; version: number }> {
  const res = await http.post('/cases').set('X-API-Key', apiKey).send(body).expect(201);
  return res.body;
}
