//! The authority's best-fit rule: stored per tenant in `best_fit_rule`, read for every suggested
//! best fit (handbook overview and exports), and named with whose rule it is and since when. The
//! handbook gives no thresholds, so a suggestion never presents its rule as the handbook's: it is
//! the authority's own, or the platform's default until an authority administrator sets one.

use crate::framework::{BestFitRule, Framework};
use sqlx::PgConnection;
use uuid::Uuid;

/// Whose rule is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Nothing chosen yet: the platform's default.
    Default { authority: String },
    /// An administrator's choice, made `at` by `by`: the authority's own rule (`own`), or back to
    /// the platform's default.
    Chosen {
        authority: String,
        by: String,
        at: String,
        own: bool,
    },
    /// The authority's own rule does not fit this framework (other levels): the default stands in.
    DoesNotFit {
        authority: String,
        framework: String,
    },
}

/// The rule that suggests the best fit for one framework in one authority.
#[derive(Debug, Clone)]
pub struct RuleInForce {
    pub rule: BestFitRule,
    pub source: Source,
    /// The stored choice's version, 0 before the first; the settings form sends it back so a
    /// change made meanwhile by someone else is not overwritten unseen.
    pub version: i32,
    /// The authority's own rule as stored, when there is one (also when it does not fit).
    pub own: Option<BestFitRule>,
}

impl RuleInForce {
    /// Whose rule it is and since when, as one sentence: "Suggested by Demo City Council's rule,
    /// set 2 December 2026 at 12:52 by Chris Admin."
    pub fn attribution(&self) -> String {
        match &self.source {
            Source::Default { authority } => format!(
                "Suggested by the platform's default rule: {authority} has not set a rule of its own."
            ),
            Source::Chosen {
                authority,
                by,
                at,
                own: true,
            } => format!("Suggested by {authority}'s rule, set {at} by {by}."),
            Source::Chosen {
                authority,
                by,
                at,
                own: false,
            } => format!(
                "Suggested by the platform's default rule, chosen for {authority} on {at} by {by}."
            ),
            Source::DoesNotFit {
                authority,
                framework,
            } => format!(
                "Suggested by the platform's default rule: {authority}'s own rule does not fit {framework}."
            ),
        }
    }

    /// Whether the authority's own rule (not the platform's default) is in force.
    pub fn is_own(&self) -> bool {
        matches!(self.source, Source::Chosen { own: true, .. })
    }
}

#[derive(sqlx::FromRow)]
struct Stored {
    authority: String,
    rule: Option<serde_json::Value>,
    version: Option<i32>,
    set_by: Option<String>,
    set_at: Option<String>,
}

/// The rule in force for `fw` in `tenant`, read in the tenant's transaction.
pub async fn in_force(
    conn: &mut PgConnection,
    tenant: Uuid,
    fw: &Framework,
) -> Result<RuleInForce, sqlx::Error> {
    let stored: Stored = sqlx::query_as(
        "SELECT t.name AS authority, r.rule, r.version, u.name AS set_by,
                to_char(r.set_at AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY \"at\" HH24:MI') AS set_at
         FROM tenant t
         LEFT JOIN best_fit_rule r ON r.tenant_id = t.id
         LEFT JOIN app_user u ON u.tenant_id = r.tenant_id AND u.id = r.set_by
         WHERE t.id = $1",
    )
    .bind(tenant)
    .fetch_one(conn)
    .await?;
    Ok(resolve(stored, fw))
}

fn resolve(stored: Stored, fw: &Framework) -> RuleInForce {
    let default = BestFitRule::platform_default(fw);
    let authority = stored.authority;
    let Some(version) = stored.version else {
        return RuleInForce {
            rule: default,
            source: Source::Default { authority },
            version: 0,
            own: None,
        };
    };
    let own = stored.rule.map(serde_json::from_value::<BestFitRule>);
    let chosen = |own: bool| Source::Chosen {
        authority: authority.clone(),
        by: stored
            .set_by
            .clone()
            .unwrap_or_else(|| "a former administrator".into()),
        at: stored.set_at.clone().unwrap_or_default(),
        own,
    };
    match own {
        None => RuleInForce {
            rule: default,
            source: chosen(false),
            version,
            own: None,
        },
        Some(Ok(rule)) if rule.problems(fw).is_empty() => RuleInForce {
            source: chosen(true),
            own: Some(rule.clone()),
            rule,
            version,
        },
        Some(read) => {
            if let Err(e) = &read {
                tracing::warn!(error = %e, "a stored best-fit rule cannot be read; the default applies");
            }
            RuleInForce {
                rule: default,
                source: Source::DoesNotFit {
                    authority: authority.clone(),
                    framework: format!("{} ({})", fw.name, fw.version),
                },
                version,
                own: read.ok(),
            }
        }
    }
}

/// Records `rule` (`None`: the platform's default) as the authority's choice, by `by`, if the
/// stored choice is still at `seen_version` (0: none yet). Returns false, changing nothing, when
/// someone else changed it meanwhile.
pub async fn save(
    conn: &mut PgConnection,
    tenant: Uuid,
    by: Uuid,
    rule: Option<&BestFitRule>,
    seen_version: i32,
) -> Result<bool, sqlx::Error> {
    let json = rule
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let done = if seen_version == 0 {
        sqlx::query(
            "INSERT INTO best_fit_rule (tenant_id, rule, set_by) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant)
        .bind(json)
        .bind(by)
        .execute(conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE best_fit_rule SET rule = $2, set_by = $3, set_at = now(), version = version + 1
             WHERE tenant_id = $1 AND version = $4",
        )
        .bind(tenant)
        .bind(json)
        .bind(by)
        .bind(seen_version)
        .execute(conn)
        .await?
    };
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{Share, load_dir};

    fn laqm() -> std::sync::Arc<Framework> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("criteria");
        load_dir(&dir).unwrap().get("laqm", "v1").unwrap()
    }

    fn stored(rule: Option<serde_json::Value>, version: Option<i32>) -> Stored {
        Stored {
            authority: "Demo City Council".into(),
            rule,
            version,
            set_by: version.map(|_| "Chris Admin".into()),
            set_at: version.map(|_| "2 December 2026 at 12:52".into()),
        }
    }

    #[test]
    fn every_suggestion_names_whose_rule_it_is() {
        let fw = laqm();
        let none = resolve(stored(None, None), &fw);
        assert_eq!(none.rule, BestFitRule::platform_default(&fw));
        assert_eq!(
            none.attribution(),
            "Suggested by the platform's default rule: Demo City Council has not set a rule of its own."
        );
        let mut own = BestFitRule::platform_default(&fw);
        own.levels[1].strands = Share::Percent(80);
        let set = resolve(
            stored(Some(serde_json::to_value(&own).unwrap()), Some(3)),
            &fw,
        );
        assert_eq!(set.rule, own);
        assert_eq!(set.version, 3);
        assert!(set.is_own());
        assert_eq!(
            set.attribution(),
            "Suggested by Demo City Council's rule, set 2 December 2026 at 12:52 by Chris Admin."
        );
        let back = resolve(stored(None, Some(4)), &fw);
        assert_eq!(back.rule, BestFitRule::platform_default(&fw));
        assert_eq!(
            back.attribution(),
            "Suggested by the platform's default rule, chosen for Demo City Council on 2 December 2026 at 12:52 by Chris Admin."
        );
    }

    #[test]
    fn a_stored_rule_that_does_not_fit_gives_way_to_the_default() {
        let fw = laqm();
        let mut other = BestFitRule::platform_default(&fw);
        other.levels.pop();
        for value in [
            serde_json::to_value(&other).unwrap(),
            serde_json::json!({"levels": "unreadable"}),
        ] {
            let r = resolve(stored(Some(value), Some(2)), &fw);
            assert_eq!(r.rule, BestFitRule::platform_default(&fw));
            assert_eq!(
                r.attribution(),
                "Suggested by the platform's default rule: Demo City Council's own rule does not fit Liverpool Attendance Quality Mark (v1)."
            );
        }
    }
}
