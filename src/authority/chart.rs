//! Horizontal bar charts drawn on the server as SVG: groups of bars (a year, a stage, a key
//! theme), one bar per series (the school, the authority, national...). The layout is computed
//! here so the template only places what it is given; the chart's text alternative lists every
//! figure, and each page shows the same figures as a table beside it.

/// Colours of the series, in order: blue, dark green, purple, orange, grey (contrast ≥ 3:1 on white).
const COLOURS: [&str; 5] = ["#1d70b8", "#00703c", "#4c2c92", "#b54e00", "#505a5f"];

const LABEL_WIDTH: u32 = 200;
const BAR_AREA: u32 = 360;
const BAR_HEIGHT: u32 = 18;
const GROUP_GAP: u32 = 14;

#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub y: u32,
    pub width: u32,
    pub colour: &'static str,
    /// The figure written after the bar ("5.1%", "no figure").
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub label: String,
    /// Baseline of the group's label.
    pub y: u32,
    pub marks: Vec<Mark>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Unique on the page: the ids of its title and description.
    pub id: &'static str,
    pub title: String,
    pub desc: String,
    pub height: u32,
    pub groups: Vec<Group>,
    /// (series name, colour), shown when there is more than one series.
    pub legend: Vec<(String, &'static str)>,
    pub label_width: u32,
}

impl Chart {
    /// A chart of `groups`, each with one optional value per series of `series`. `unit` follows
    /// each figure ("%" or ""); `decimals` as the table beside it shows them.
    pub fn new(
        id: &'static str,
        title: &str,
        series: &[&str],
        groups: &[(String, Vec<Option<f64>>)],
        unit: &str,
        decimals: usize,
    ) -> Chart {
        let max = groups
            .iter()
            .flat_map(|(_, v)| v.iter().flatten())
            .fold(0.0_f64, |m, v| m.max(*v));
        let scale = if max > 0.0 {
            f64::from(BAR_AREA) / max
        } else {
            0.0
        };
        let per_group = |n: usize| 20 + u32::try_from(n).unwrap_or(0) * (BAR_HEIGHT + 4);
        let mut y = if series.len() > 1 { 30 } else { 4 };
        let mut out = Vec::with_capacity(groups.len());
        let mut desc = Vec::with_capacity(groups.len());
        for (label, values) in groups {
            let mut marks = Vec::with_capacity(values.len());
            let mut words = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                let bar_y = y + 6 + u32::try_from(i).unwrap_or(0) * (BAR_HEIGHT + 4);
                let value = v.map_or_else(
                    || "no figure".to_string(),
                    |v| format!("{v:.decimals$}{unit}"),
                );
                let name = series.get(i).copied().unwrap_or("");
                words.push(if series.len() > 1 {
                    format!("{name} {value}")
                } else {
                    value.clone()
                });
                marks.push(Mark {
                    y: bar_y,
                    // Rounded to whole pixels; a value above zero always shows.
                    width: v.map_or(0, |v| {
                        let w = (v * scale).round();
                        if v > 0.0 && w < 1.0 { 1 } else { w as u32 }
                    }),
                    colour: COLOURS[i % COLOURS.len()],
                    value,
                });
            }
            desc.push(format!("{label}: {}", words.join(", ")));
            out.push(Group {
                label: label.clone(),
                y: y + 18,
                marks,
            });
            y += per_group(values.len()).max(28) + GROUP_GAP;
        }
        Chart {
            id,
            title: title.to_string(),
            desc: if desc.is_empty() {
                "No figures yet.".to_string()
            } else {
                desc.join("; ") + "."
            },
            height: y + 4,
            groups: out,
            legend: if series.len() > 1 {
                series
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.to_string(), COLOURS[i % COLOURS.len()]))
                    .collect()
            } else {
                Vec::new()
            },
            label_width: LABEL_WIDTH,
        }
    }

    /// The x of the figure after a bar.
    pub fn value_x(&self, m: &Mark) -> u32 {
        self.label_width + m.width + 6
    }

    /// The legend's swatch x positions, spread along the top.
    pub fn legend_x(&self, i: &usize) -> u32 {
        u32::try_from(*i).unwrap_or(0) * 150
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_figure_and_missing_figures_say_so() {
        let c = Chart::new(
            "t",
            "Absence",
            &["School", "National"],
            &[
                ("2022/23".into(), vec![Some(6.0), Some(7.5)]),
                ("2023/24".into(), vec![None, Some(0.001)]),
            ],
            "%",
            1,
        );
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[0].marks[1].width, BAR_AREA);
        assert_eq!(c.groups[0].marks[0].width, 288);
        assert_eq!(c.groups[1].marks[0].width, 0);
        assert_eq!(c.groups[1].marks[0].value, "no figure");
        assert_eq!(c.groups[1].marks[1].width, 1);
        assert_eq!(
            c.desc,
            "2022/23: School 6.0%, National 7.5%; 2023/24: School no figure, National 0.0%."
        );
        assert_eq!(c.legend.len(), 2);
        assert!(c.groups[1].y > c.groups[0].marks[1].y);
        assert!(c.height > c.groups[1].marks[1].y + BAR_HEIGHT);
    }

    #[test]
    fn one_series_has_no_legend() {
        let c = Chart::new(
            "s",
            "Stages",
            &["Schools"],
            &[("In progress".into(), vec![Some(3.0)])],
            "",
            0,
        );
        assert!(c.legend.is_empty());
        assert_eq!(c.desc, "In progress: 3.");
        let empty = Chart::new("e", "None", &["Schools"], &[], "", 0);
        assert_eq!(empty.desc, "No figures yet.");
    }
}
