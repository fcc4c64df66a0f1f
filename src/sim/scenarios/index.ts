import { AppError } from '../../util/errors.js';
import type { ScenarioDefinition } from '../model.js';
import { control } from './control.js';
import { mesh } from './mesh.js';
import { shop } from './shop.js';

/** The scenarios `npm run simulate` ships. */
export const SCENARIOS: readonly ScenarioDefinition[] = [shop, mesh, control];

export function getScenario(name: string): ScenarioDefinition {
  const def = SCENARIOS.find((s) => s.name === name);
  if (!def) throw new AppError('SIM_UNKNOWN_SCENARIO', `unknown scenario "${name}" (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  return def;
}
