// The release's strategy, from its plan (see ./strategy.ts for what a strategy decides). PURE.
import type { StrategyPlan } from '../../plan.js';
import { abTestingStrategy } from './ab-testing.js';
import { blueGreenStrategy } from './blue-green.js';
import { canaryStrategy } from './canary.js';
import type { Strategy } from './strategy.js';

export type { Move, Strategy } from './strategy.js';

export function strategyOf(plan: { strategy: StrategyPlan }): Strategy {
  const st = plan.strategy;
  switch (st.kind) {
    case 'canary':
      return canaryStrategy(st);
    case 'ab-testing':
      return abTestingStrategy(st);
    case 'blue-green':
      return blueGreenStrategy(st);
  }
}
