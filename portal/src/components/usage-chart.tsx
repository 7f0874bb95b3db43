import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface ChartPoint {
  readonly label: string;
  readonly value: number;
}

/** A bar chart of one measure per label (a project, a deployment, a day…), labelled for screen readers. */
/** `domain`: the value axis's fixed range (a share: 0 to 1), else recharts' own from the data. */
export function UsageChart({
  points,
  title,
  format,
  domain,
}: {
  points: readonly ChartPoint[];
  title: string;
  format: (value: number) => string;
  domain?: [number, number];
}) {
  return (
    <figure className="usage-chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      {points.length === 0 ? (
        <p className="status empty">Nothing recorded in this range.</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={points as ChartPoint[]} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
            <XAxis dataKey="label" tick={{ fill: 'currentColor', fontSize: 12 }} interval={0} />
            <YAxis domain={domain} tickFormatter={format} tick={{ fill: 'currentColor', fontSize: 12 }} width={72} />
            <Tooltip formatter={(value) => format(Number(value))} contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)' }} />
            <Bar dataKey="value" name={title} fill="var(--accent)" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
