//! Moderation: for every assessed school, the level claimed and the level agreed for each strand,
//! and each assessor's pattern — how often they agree with schools' claims, by key theme — so the
//! authority sees whether its assessors judge alike. As a table, a chart and a CSV.

use super::NONE;
use crate::admin::audit_log::csv_cell;
use crate::auth::{Officers, Scoped};
use crate::error::AppError;
use crate::framework::Catalogue;
use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One judged strand: the claim and the agreed level as ranks (0 for no claim, or none of the
/// levels; 1 for the lowest level and so on).
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub assessor: String,
    pub school: String,
    pub assessment: Uuid,
    pub theme: u32,
    pub strand: String,
    pub claimed: usize,
    pub agreed: usize,
    pub claimed_name: String,
    pub agreed_name: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub judged: usize,
    pub same: usize,
    pub higher: usize,
    pub lower: usize,
}

impl Tally {
    fn add(&mut self, j: &Judged) {
        self.judged += 1;
        match j.agreed.cmp(&j.claimed) {
            std::cmp::Ordering::Equal => self.same += 1,
            std::cmp::Ordering::Greater => self.higher += 1,
            std::cmp::Ordering::Less => self.lower += 1,
        }
    }

    /// Share of judged strands where the agreed level is the claimed one, in whole per cent.
    pub fn agreement(&self) -> Option<u32> {
        (self.judged > 0).then(|| {
            u32::try_from((self.same * 100 + self.judged / 2) / self.judged).unwrap_or(100)
        })
    }

    pub fn agreement_words(&self) -> String {
        self.agreement()
            .map_or_else(|| "–".to_string(), |p| format!("{p}%"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub assessor: String,
    pub schools: usize,
    pub overall: Tally,
    /// By theme number, every theme of the framework in order.
    pub themes: Vec<(u32, Tally)>,
}

/// Each assessor's pattern over `rows` (pure), themes `themes` in order.
pub fn patterns(rows: &[Judged], themes: &[u32]) -> Vec<Pattern> {
    // Per assessor: their handbooks, their overall tally, their tally per theme.
    type Of = (Vec<Uuid>, Tally, BTreeMap<u32, Tally>);
    let mut by: BTreeMap<&str, Of> = BTreeMap::new();
    for j in rows {
        let e = by.entry(&j.assessor).or_default();
        if !e.0.contains(&j.assessment) {
            e.0.push(j.assessment);
        }
        e.1.add(j);
        e.2.entry(j.theme).or_default().add(j);
    }
    by.into_iter()
        .map(|(assessor, (schools, overall, per))| Pattern {
            assessor: assessor.to_string(),
            schools: schools.len(),
            overall,
            themes: themes
                .iter()
                .map(|n| (*n, per.get(n).cloned().unwrap_or_default()))
                .collect(),
        })
        .collect()
}

/// Every judged strand of every awarded handbook of the authority, in one query.
async fn judged(s: &mut Scoped<Officers>, catalogue: &Catalogue) -> Result<Vec<Judged>, AppError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, Uuid, String, String, String, Option<String>, String)> =
        sqlx::query_as(
            "SELECT u.name, s.name, a.id, a.framework_key, a.framework_version, j.strand_key,
                    e.claimed_level, j.agreed_level
             FROM award aw
             JOIN assessment a ON a.tenant_id = aw.tenant_id AND a.id = aw.assessment_id
             JOIN school s ON s.tenant_id = a.tenant_id AND s.id = a.school_id
             JOIN app_user u ON u.tenant_id = aw.tenant_id AND u.id = aw.assessor_id
             JOIN strand_judgement j ON j.tenant_id = a.tenant_id AND j.assessment_id = a.id
                                    AND j.agreed_level IS NOT NULL
             LEFT JOIN strand_entry e ON e.tenant_id = j.tenant_id AND e.assessment_id = j.assessment_id
                                     AND e.strand_key = j.strand_key
             WHERE aw.tenant_id = $1
             ORDER BY u.name, s.name",
        )
        .bind(s.tenant)
        .fetch_all(&mut *s.tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (assessor, school, assessment, fw_key, fw_version, strand, claimed, agreed) in rows {
        let Some(fw) = catalogue.get(&fw_key, &fw_version) else {
            continue;
        };
        let Some((t, st)) = fw.strands().find(|(_, st)| st.key == strand) else {
            continue;
        };
        let rank = |k: Option<&str>| match k {
            None | Some(NONE) => 0,
            Some(k) => fw.level_rank(k).map_or(0, |r| r + 1),
        };
        out.push(Judged {
            assessor,
            school,
            assessment,
            theme: t.number,
            strand: st.reference(),
            claimed: rank(claimed.as_deref()),
            agreed: rank(Some(&agreed)),
            claimed_name: match claimed.as_deref() {
                None => "No claim".to_string(),
                Some(k) => crate::handbook::level_name(&fw, Some(k)),
            },
            agreed_name: super::level_words(&fw, Some(&agreed)),
        });
    }
    Ok(out)
}

/// A bar of the chart.
pub struct Bar {
    pub label: String,
    pub percent: u32,
    pub y: u32,
    pub width: u32,
}

pub struct SchoolRow {
    pub school: String,
    pub assessor: String,
    pub tally: Tally,
    pub strands: Vec<Judged>,
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/moderation.html")]
pub struct ModerationPage {
    layout: Layout,
    patterns: Vec<Pattern>,
    themes: Vec<u32>,
    bars: Vec<Bar>,
    chart_height: u32,
    chart_summary: String,
    schools: Vec<SchoolRow>,
}

fn theme_numbers(catalogue: &Catalogue) -> Vec<u32> {
    let mut n: Vec<u32> = catalogue
        .all()
        .flat_map(|fw| fw.themes.iter().map(|t| t.number))
        .collect();
    n.sort_unstable();
    n.dedup();
    n
}

pub async fn get_moderation(mut s: Scoped<Officers>) -> Result<ModerationPage, AppError> {
    let catalogue = s.state.catalogue.clone();
    let rows = judged(&mut s, &catalogue).await?;
    let themes = theme_numbers(&catalogue);
    let patterns = patterns(&rows, &themes);
    let bars: Vec<Bar> = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let percent = p.overall.agreement().unwrap_or(0);
            Bar {
                label: p.assessor.clone(),
                percent,
                y: u32::try_from(i).unwrap_or(0) * 40 + 10,
                width: percent * 4,
            }
        })
        .collect();
    let chart_summary = if patterns.is_empty() {
        "No award has been agreed yet.".to_string()
    } else {
        patterns
            .iter()
            .map(|p| {
                format!(
                    "{} agreed with the school's claim on {} of {} strands ({})",
                    p.assessor,
                    p.overall.same,
                    p.overall.judged,
                    p.overall.agreement_words()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
            + "."
    };
    let mut schools: Vec<SchoolRow> = Vec::new();
    for j in rows {
        match schools.last_mut() {
            Some(last)
                if last
                    .strands
                    .first()
                    .is_some_and(|f| f.assessment == j.assessment) =>
            {
                last.tally.add(&j);
                last.strands.push(j);
            }
            _ => {
                let mut tally = Tally::default();
                tally.add(&j);
                schools.push(SchoolRow {
                    school: j.school.clone(),
                    assessor: j.assessor.clone(),
                    tally,
                    strands: vec![j],
                });
            }
        }
    }
    Ok(ModerationPage {
        layout: s.layout("/moderation"),
        chart_height: u32::try_from(bars.len()).unwrap_or(0) * 40 + 20,
        bars,
        chart_summary,
        patterns,
        themes,
        schools,
    })
}

/// The same figures as the page, one line per judged strand.
pub async fn get_moderation_csv(mut s: Scoped<Officers>) -> Result<Response, AppError> {
    let catalogue = s.state.catalogue.clone();
    let rows = judged(&mut s, &catalogue).await?;
    drop(s);
    let mut out = String::from("Assessor,School,Key theme,Strand,Claimed,Agreed,Agreed is\r\n");
    for j in &rows {
        let is = match j.agreed.cmp(&j.claimed) {
            std::cmp::Ordering::Equal => "the claim",
            std::cmp::Ordering::Greater => "higher than the claim",
            std::cmp::Ordering::Less => "lower than the claim",
        };
        let theme = j.theme.to_string();
        let cells = [
            &j.assessor,
            &j.school,
            &theme,
            &j.strand,
            &j.claimed_name,
            &j.agreed_name,
            &is.to_string(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"moderation.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(assessor: &str, school: u128, theme: u32, claimed: usize, agreed: usize) -> Judged {
        Judged {
            assessor: assessor.into(),
            school: format!("School {school}"),
            assessment: Uuid::from_u128(school),
            theme,
            strand: format!("{theme}.1"),
            claimed,
            agreed,
            claimed_name: String::new(),
            agreed_name: String::new(),
        }
    }

    #[test]
    fn each_assessors_agreement_by_theme() {
        // Ann: 3 of 4 agreed (one lower), over two schools; Bob: 1 of 3 (one higher, one lower).
        let rows = vec![
            j("Ann", 1, 1, 2, 2),
            j("Ann", 1, 1, 3, 2),
            j("Ann", 2, 2, 1, 1),
            j("Ann", 2, 2, 0, 0),
            j("Bob", 3, 1, 1, 2),
            j("Bob", 3, 2, 3, 1),
            j("Bob", 3, 2, 2, 2),
        ];
        let p = patterns(&rows, &[1, 2, 3]);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].assessor, "Ann");
        assert_eq!(p[0].schools, 2);
        assert_eq!(
            p[0].overall,
            Tally {
                judged: 4,
                same: 3,
                higher: 0,
                lower: 1
            }
        );
        assert_eq!(p[0].overall.agreement(), Some(75));
        assert_eq!(p[0].themes[0].1.agreement(), Some(50));
        assert_eq!(p[0].themes[1].1.agreement(), Some(100));
        assert_eq!(p[0].themes[2].1.agreement(), None);
        assert_eq!(
            p[1].overall,
            Tally {
                judged: 3,
                same: 1,
                higher: 1,
                lower: 1
            }
        );
        assert_eq!(p[1].overall.agreement(), Some(33));
        assert_eq!(p[1].themes[1].1.agreement_words(), "50%");
    }
}
