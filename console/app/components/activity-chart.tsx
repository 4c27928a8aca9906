/** Requests received, failures and decisions applied per hour over the last day, as bars. */
import { Caption1, makeStyles, tokens } from "@fluentui/react-components";
import { formatHour } from "../format";
import type { HourOfActivity } from "../requests";

const WIDTH = 720;
const HEIGHT = 180;
const PLOT = { left: 32, right: 8, top: 8, bottom: 24 };

/** Scale tops whose halves are whole numbers too, so both grid lines get a label. */
const SCALE_TOPS = [2, 4, 6, 10, 20, 40, 60, 100, 200, 400, 600, 1000, 2000, 4000, 10000];

const SERIES = [
  { key: "received", label: "Received", color: tokens.colorBrandBackground },
  { key: "applied", label: "Applied", color: tokens.colorPaletteGreenBackground3 },
  { key: "failed", label: "Failed", color: tokens.colorPaletteRedBackground3 },
] as const;

const useStyles = makeStyles({
  chart: { width: "100%", height: "auto", display: "block" },
  legend: { display: "flex", gap: tokens.spacingHorizontalL, alignItems: "center" },
  swatch: {
    display: "inline-block",
    width: "10px",
    height: "10px",
    marginRight: tokens.spacingHorizontalXS,
    borderRadius: "2px",
  },
});

export function ActivityChart(props: { hours: HourOfActivity[] }) {
  const styles = useStyles();
  const max = Math.max(1, ...props.hours.flatMap((hour) => SERIES.map((s) => hour[s.key])));
  const top = SCALE_TOPS.find((step) => step >= max) ?? Math.ceil(max / 2) * 2;
  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  const slot = plotWidth / props.hours.length;
  const barWidth = (slot - 4) / SERIES.length;
  const y = (value: number) => PLOT.top + plotHeight - (value / top) * plotHeight;
  const total = (key: (typeof SERIES)[number]["key"]) =>
    props.hours.reduce((sum, hour) => sum + hour[key], 0);

  return (
    <div>
      <svg
        className={styles.chart}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Last 24 hours: ${SERIES.map((s) => `${total(s.key)} ${s.label.toLowerCase()}`).join(", ")}`}
      >
        {[0, top / 2, top].map((value) => (
          <g key={value}>
            <line
              x1={PLOT.left}
              x2={WIDTH - PLOT.right}
              y1={y(value)}
              y2={y(value)}
              style={{ stroke: tokens.colorNeutralStroke2 }}
            />
            <text
              x={PLOT.left - 6}
              y={y(value) + 4}
              textAnchor="end"
              fontSize="11"
              style={{ fill: tokens.colorNeutralForeground3 }}
            >
              {value}
            </text>
          </g>
        ))}
        {props.hours.map((hour, index) => (
          <g key={hour.start.toISOString()}>
            {SERIES.map((series, seriesIndex) =>
              hour[series.key] > 0 ? (
                <rect
                  key={series.key}
                  x={PLOT.left + index * slot + 2 + seriesIndex * barWidth}
                  y={y(hour[series.key])}
                  width={barWidth}
                  height={y(0) - y(hour[series.key])}
                  style={{ fill: series.color }}
                >
                  <title>{`${formatHour(hour.start)}: ${hour[series.key]} ${series.label.toLowerCase()}`}</title>
                </rect>
              ) : null,
            )}
            {index % 4 === 0 && (
              <text
                x={PLOT.left + index * slot}
                y={HEIGHT - 6}
                fontSize="11"
                style={{ fill: tokens.colorNeutralForeground3 }}
              >
                {formatHour(hour.start)}
              </text>
            )}
          </g>
        ))}
      </svg>
      <div className={styles.legend}>
        {SERIES.map((series) => (
          <Caption1 key={series.key}>
            <span className={styles.swatch} style={{ backgroundColor: series.color }} />
            {series.label} ({total(series.key)})
          </Caption1>
        ))}
      </div>
    </div>
  );
}
