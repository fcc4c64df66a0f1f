import { DEFAULT_SAMPLING, type ScenarioDefinition } from '../model.js';
import { shopServices, shopTraffic } from './shop.js';

/** 2026-10-03T00:00:00Z */
const CONTROL_START = 1_790_985_600;

export const control: ScenarioDefinition = {
  name: 'control',
  description:
    'The shop with nothing wrong: a ×3 traffic surge for 10 min at 01:10 and, at 02:00, a deploy that makes InventoryService\'s own work 1.6× slower for good (≈ +30 % of its response time). Neither is an incident.',
  defaults: { seed: 20261003, start: CONTROL_START, hours: 3, rate: 10 },
  build(p) {
    const at = (h: number, m: number) => p.start + h * 3600 + m * 60;
    return {
      name: 'control',
      description: control.description,
      seed: p.seed,
      start: p.start,
      end: p.start + p.hours * 3600,
      services: shopServices(),
      traffic: shopTraffic(p.rate),
      sampling: DEFAULT_SAMPLING,
      incidents: [],
      surges: [{ id: 'control-traffic-surge', start: at(1, 10), end: at(1, 20), multiplier: 3, description: 'three times the client traffic; rates stay the same' }],
      deploys: [
        { id: 'control-inventory-deploy', target: 'InventoryService', at: at(2, 0), latencyFactor: 1.6, version: '1.1.0', description: 'InventoryService 1.1.0: own work 1.6× slower from now on (a level shift, not an incident)' },
      ],
    };
  },
};
