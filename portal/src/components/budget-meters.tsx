import { usd } from '../api/format.js';
import { budgetOwner, usedShare, type BudgetUse } from '../api/limits.js';
import { LocalTime } from './local-time.js';

/** Each budget's periods as a meter of spend against the limit. */
export function BudgetMeters({ budgets }: { budgets: readonly BudgetUse[] }) {
  return (
    <ul className="budget-list">
      {budgets.map((budget) => (
        <li key={`${budget.scope}:${budget.id}`}>
          <strong>{budgetOwner(budget)}</strong>
          {budget.periods.map((period) => {
            const share = usedShare(period);
            const label = `${budgetOwner(budget)}, ${period.period === 'month' ? 'this month' : 'today'}`;
            return (
              <div key={period.period} className="budget-period">
                <span>
                  {period.period === 'month' ? 'This month' : 'Today'} (since <LocalTime value={period.since} />)
                </span>
                <meter aria-label={label} min={0} max={1} low={0.75} high={0.9} optimum={0} value={share} />
                <span>
                  {usd(period.spent_usd)} of {usd(period.limit_usd)} ({Math.round(share * 100)}%)
                </span>
              </div>
            );
          })}
        </li>
      ))}
    </ul>
  );
}
