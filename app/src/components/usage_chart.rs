//! "Tokens issued per day" as an SVG bar chart rendered on the server (readable without
//! JavaScript), with the same numbers in a table for screen readers and copy-paste.

use crate::api::DailyBar;
use leptos::prelude::*;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room on the left for the scale and at the bottom for the day labels.
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 20.0;
const GAP: f64 = 2.0;

/// The count at the top of the plot: the busiest day's, or 1 when nothing was issued (so an
/// empty chart is flat, and its scale never reads "0" at both ends).
fn plot_top(bars: &[DailyBar]) -> i64 {
    bars.iter().map(|bar| bar.count).max().unwrap_or(0).max(1)
}

/// Where each bar goes: x, y, width, height in the chart's coordinate space.
fn bar_geometry(bars: &[DailyBar]) -> Vec<(f64, f64, f64, f64)> {
    let max = plot_top(bars) as f64;
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let plot_height = HEIGHT - BOTTOM;
    bars.iter()
        .enumerate()
        .map(|(index, bar)| {
            let height = bar.count.max(0) as f64 / max * plot_height;
            (
                LEFT + index as f64 * slot + GAP / 2.0,
                plot_height - height,
                (slot - GAP).max(1.0),
                height,
            )
        })
        .collect()
}

/// A bar chart of tokens issued per day.
#[component]
pub fn UsageChart(
    /// The bars, oldest first.
    bars: Vec<DailyBar>,
    /// Accessible name, e.g. "Tokens issued per day, last 30 days".
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let total: i64 = bars.iter().map(|bar| bar.count).sum();
    let max = bars.iter().map(|bar| bar.count).max().unwrap_or(0);
    let top = plot_top(&bars);
    let geometry = bar_geometry(&bars);
    let first = bars.first().map(|bar| bar.day.clone()).unwrap_or_default();
    let last = bars.last().map(|bar| bar.day.clone()).unwrap_or_default();
    let summary = format!("{total} token(s) issued from {first} to {last}; busiest day {max}.");
    let plot_bottom = (HEIGHT - BOTTOM).to_string();
    let (left, scale_x, width, label_y) = (
        LEFT.to_string(),
        (LEFT - 4.0).to_string(),
        WIDTH.to_string(),
        (HEIGHT - 4.0).to_string(),
    );
    let rects = bars
        .iter()
        .zip(geometry)
        .map(|(bar, (x, y, width, height))| {
            let tip = format!("{}: {} token(s)", bar.day, bar.count);
            view! {
                <rect class="bar" x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{width:.1}")
                    height=format!("{height:.1}") data-day=bar.day.clone() data-count=bar.count.to_string()>
                    <title>{tip}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="usage-chart" data-testid="usage-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=format!("{label}. {summary}")
                class="chart">
                <line class="axis" x1=left.clone() y1=plot_bottom.clone() x2=width.clone() y2=plot_bottom.clone()></line>
                <text class="scale" x=scale_x.clone() y="10" text-anchor="end">{top}</text>
                <text class="scale" x=scale_x y=plot_bottom text-anchor="end">"0"</text>
                {rects}
                <text class="scale" x=left y=label_y.clone()>{first.clone()}</text>
                <text class="scale" x=width y=label_y text-anchor="end">{last.clone()}</text>
            </svg>
            <figcaption>{label.clone()}" — "{summary}</figcaption>
            <details class="chart-data">
                <summary>"Show the numbers"</summary>
                <table class="data compact" aria-label=label>
                    <thead><tr><th scope="col">"Day (UTC)"</th><th scope="col">"Tokens issued"</th></tr></thead>
                    <tbody>
                        {bars.into_iter().map(|bar| view! {
                            <tr><td>{bar.day}</td><td>{bar.count}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(counts: &[i64]) -> Vec<DailyBar> {
        counts
            .iter()
            .enumerate()
            .map(|(day, &count)| DailyBar {
                day: format!("day {day}"),
                count,
            })
            .collect()
    }

    #[test]
    fn the_busiest_day_fills_the_plot_and_empty_days_are_flat() {
        let geometry = bar_geometry(&bars(&[0, 5, 10]));
        assert_eq!(geometry[0].3, 0.0);
        assert_eq!(geometry[2].3, HEIGHT - BOTTOM);
        assert!((geometry[1].3 - (HEIGHT - BOTTOM) / 2.0).abs() < 1e-9);
        assert!(geometry.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn no_tokens_at_all_draws_no_bars_without_dividing_by_zero() {
        assert_eq!(plot_top(&bars(&[0; 30])), 1);
        assert_eq!(plot_top(&bars(&[0, 7, 3])), 7);
        let geometry = bar_geometry(&bars(&[0; 30]));
        assert!(geometry.iter().all(|&(x, y, width, height)| x.is_finite()
            && y == HEIGHT - BOTTOM
            && width > 0.0
            && height == 0.0));
    }
}
