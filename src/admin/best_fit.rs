//! The authority's best-fit rule, set by its administrators at `/settings/best-fit`: how many
//! strands of a theme and how many themes each level needs, and how strands that do not have every
//! level count. The handbook gives no thresholds, so the rule is the authority's, shown as such
//! wherever a suggestion is; until an administrator sets one, the platform's default applies.
//! Every change is audited (`best_fit_rule.changed`, the rule before and after in words).

use crate::auth::{Administrators, Scoped};
use crate::best_fit_setting::{self, RuleInForce, Source};
use crate::error::AppError;
use crate::forms::Errors;
use crate::framework::{BestFitRule, Framework, LevelRule, Part, Share, StartsAbove, StopsBelow};
use crate::layout::Layout;
use crate::web::{Form, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Field names of the shares, by level (lowest first): `forms::Errors` names fields statically.
const STRAND_FIELDS: [&str; 8] = [
    "strands-1",
    "strands-2",
    "strands-3",
    "strands-4",
    "strands-5",
    "strands-6",
    "strands-7",
    "strands-8",
];
const THEME_FIELDS: [&str; 8] = [
    "themes-1", "themes-2", "themes-3", "themes-4", "themes-5", "themes-6", "themes-7", "themes-8",
];

fn field(part: Part, level: usize) -> &'static str {
    let names = match part {
        Part::Strands => &STRAND_FIELDS,
        Part::Themes => &THEME_FIELDS,
    };
    names[level.min(names.len() - 1)]
}

/// The choices for strands that start above a level: (form value, label, hint).
const STARTS_ABOVE: [(StartsAbove, &str, &str, &str); 2] = [
    (
        StartsAbove::LeftOut,
        "left_out",
        "Leave them out when that level is judged",
        "A Gold-only strand does not count towards Bronze or Silver.",
    ),
    (
        StartsAbove::Counted,
        "counted",
        "Count them, and they meet a level only when claimed",
        "An unclaimed Gold-only strand counts against Bronze and Silver too.",
    ),
];

const STOPS_BELOW: [(StopsBelow, &str, &str, &str); 3] = [
    (
        StopsBelow::MeetsAtTop,
        "meets_at_top",
        "They meet it when claimed at their top level",
        "A Bronze-only strand claimed at Bronze counts towards Silver and Gold.",
    ),
    (
        StopsBelow::LeftOut,
        "left_out",
        "Leave them out when that level is judged",
        "A Bronze-only strand does not count towards Silver or Gold.",
    ),
    (
        StopsBelow::Short,
        "short",
        "Count them as falling short of it",
        "A Bronze-only strand always counts against Silver and Gold.",
    ),
];

fn starts_above_value(v: StartsAbove) -> &'static str {
    STARTS_ABOVE.iter().find(|c| c.0 == v).map_or("", |c| c.1)
}

fn stops_below_value(v: StopsBelow) -> &'static str {
    STOPS_BELOW.iter().find(|c| c.0 == v).map_or("", |c| c.1)
}

type Choices<T> = [(T, &'static str, &'static str, &'static str)];

fn choices<T>(list: &Choices<T>) -> Vec<Choice> {
    list.iter()
        .map(|(_, value, label, hint)| Choice { value, label, hint })
        .collect()
}

fn label_of<T>(list: &Choices<T>, value: &str) -> String {
    list.iter()
        .find(|c| c.1 == value)
        .map_or_else(|| value.to_string(), |c| c.2.to_string())
}

/// One level's row of the form, as typed.
pub struct LevelRow {
    pub name: String,
    pub strands_field: &'static str,
    pub themes_field: &'static str,
    pub strands: String,
    pub themes: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/best_fit.html")]
pub struct BestFitPage {
    layout: Layout,
    errors: Errors,
    authority: String,
    framework: String,
    /// Whose rule is in force and since when.
    status: String,
    /// The rule in force, in words.
    in_force: Vec<String>,
    /// The platform's default, in words.
    default_rule: Vec<String>,
    own: bool,
    version: i32,
    levels: Vec<LevelRow>,
    themes: usize,
    /// What 80% of the themes comes to, for the hint.
    themes_example: usize,
    starting_above: String,
    stopping_below: String,
    starts_above: String,
    stops_below: String,
    starts_above_choices: Vec<Choice>,
    stops_below_choices: Vec<Choice>,
    /// Someone else changed the rule while this form was being filled in.
    stale: bool,
}

/// The authority's name and the framework version its handbooks open with.
async fn authority(s: &mut Scoped<Administrators>) -> Result<(String, Arc<Framework>), AppError> {
    let (name, key): (String, String) =
        sqlx::query_as("SELECT name, framework_key FROM tenant WHERE id = $1")
            .bind(s.tenant)
            .fetch_one(&mut *s.tx)
            .await?;
    let fw = s
        .state
        .catalogue
        .current(&key)
        .ok_or_else(|| anyhow::anyhow!("the authority's framework {key} is not loaded"))?;
    Ok((name, fw))
}

/// References of the strands whose statements start above (or stop below) some level.
fn partial(fw: &Framework, starts_above: bool) -> String {
    let top = fw.levels.len().saturating_sub(1);
    let refs: Vec<String> = fw
        .strands()
        .filter(|(_, s)| {
            let ranks: Vec<usize> = s
                .statements
                .keys()
                .filter_map(|k| fw.level_rank(k))
                .collect();
            if starts_above {
                ranks.iter().min().is_some_and(|&r| r > 0)
            } else {
                ranks.iter().max().is_some_and(|&r| r < top)
            }
        })
        .map(|(_, s)| s.reference())
        .collect();
    match refs.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The page, with the form showing `form` (what was typed) or else the rule in force.
fn page(
    s: &Scoped<Administrators>,
    name: String,
    fw: &Framework,
    current: &RuleInForce,
    form: Option<&HashMap<String, String>>,
    errors: Errors,
    stale: bool,
) -> BestFitPage {
    let shown = &current.rule;
    let typed = |key: &str, fallback: String| {
        form.map_or(fallback, |f| f.get(key).cloned().unwrap_or_default())
    };
    let levels = fw
        .levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let rule = shown.levels.iter().find(|l| l.level == level.key);
            let (strands_field, themes_field) = (field(Part::Strands, i), field(Part::Themes, i));
            LevelRow {
                name: level.name.clone(),
                strands_field,
                themes_field,
                strands: typed(
                    strands_field,
                    rule.map(|r| r.strands.as_input()).unwrap_or_default(),
                ),
                themes: typed(
                    themes_field,
                    rule.map(|r| r.themes.as_input()).unwrap_or_default(),
                ),
            }
        })
        .collect();
    BestFitPage {
        layout: s.layout("/settings/best-fit"),
        errors,
        framework: format!("{} ({})", fw.name, fw.version),
        status: status(current),
        in_force: current.rule.explain(fw),
        default_rule: BestFitRule::platform_default(fw).explain(fw),
        own: current.is_own(),
        version: current.version,
        levels,
        themes: fw.themes.len(),
        themes_example: Share::Percent(80).needed(fw.themes.len()),
        starting_above: partial(fw, true),
        stopping_below: partial(fw, false),
        starts_above: typed(
            "starts_above",
            starts_above_value(shown.starts_above).to_string(),
        ),
        stops_below: typed(
            "stops_below",
            stops_below_value(shown.stops_below).to_string(),
        ),
        starts_above_choices: choices(&STARTS_ABOVE),
        stops_below_choices: choices(&STOPS_BELOW),
        stale,
        authority: name,
    }
}

/// The rule in force, for the settings page: "Demo City Council's own rule is in force, set …".
fn status(r: &RuleInForce) -> String {
    match &r.source {
        Source::Default { authority } => format!(
            "The platform's default rule is in force: {authority} has not set a rule of its own."
        ),
        Source::Chosen {
            authority,
            by,
            at,
            own: true,
        } => format!("{authority}'s own rule is in force, set {at} by {by}."),
        Source::Chosen { by, at, .. } => {
            format!("The platform's default rule is in force, chosen {at} by {by}.")
        }
        Source::DoesNotFit {
            authority,
            framework,
        } => format!(
            "The platform's default rule is in force: {authority}'s own rule does not fit {framework}."
        ),
    }
}

pub async fn get_best_fit(mut s: Scoped<Administrators>) -> Result<BestFitPage, AppError> {
    let (name, fw) = authority(&mut s).await?;
    let current = best_fit_setting::in_force(&mut s.tx, s.tenant, &fw).await?;
    Ok(page(
        &s,
        name,
        &fw,
        &current,
        None,
        Errors::default(),
        false,
    ))
}

/// Reads the form into a rule for `fw`, or the messages to show next to its fields.
fn parse_rule(fw: &Framework, form: &HashMap<String, String>) -> Result<BestFitRule, Errors> {
    let mut errors = Errors::default();
    let mut levels = Vec::new();
    for (i, level) in fw.levels.iter().enumerate() {
        let mut share = |part: Part| {
            let name = field(part, i);
            let typed = form.get(name).map_or("", |v| v.trim());
            let what = match part {
                Part::Strands => "strands of a theme",
                Part::Themes => "themes",
            };
            if typed.is_empty() {
                errors.add(name, format!("Enter the {what} {} needs", level.name));
                return None;
            }
            let parsed = Share::parse(typed);
            if parsed.is_none() {
                let example = match part {
                    Part::Strands => "like 75% or 3",
                    Part::Themes => "like 80% or 5",
                };
                errors.add(
                    name,
                    format!(
                        "{}: enter a percentage or a whole number, {example}",
                        level.name
                    ),
                );
            }
            parsed
        };
        let strands = share(Part::Strands);
        let themes = share(Part::Themes);
        if let (Some(strands), Some(themes)) = (strands, themes) {
            levels.push(LevelRule {
                level: level.key.clone(),
                strands,
                themes,
            });
        }
    }
    let pick = |key: &str| form.get(key).map_or("", String::as_str);
    let starts_above = STARTS_ABOVE
        .iter()
        .find(|c| c.1 == pick("starts_above"))
        .map(|c| c.0);
    if starts_above.is_none() {
        errors.add(
            "starts_above",
            "Choose how strands that start above a level count",
        );
    }
    let stops_below = STOPS_BELOW
        .iter()
        .find(|c| c.1 == pick("stops_below"))
        .map(|c| c.0);
    if stops_below.is_none() {
        errors.add(
            "stops_below",
            "Choose how strands that stop below a level count",
        );
    }
    let (Some(starts_above), Some(stops_below)) = (starts_above, stops_below) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let rule = BestFitRule {
        levels,
        starts_above,
        stops_below,
    };
    for p in rule.problems(fw) {
        errors.add(field(p.part, p.level), p.message);
    }
    if errors.is_empty() {
        Ok(rule)
    } else {
        Err(errors)
    }
}

/// A share in words, for the audit log: "all", "at least 75%", "at least 3".
fn share_words(share: Share) -> String {
    match share {
        Share::Percent(100) => "all".to_string(),
        Share::Percent(p) => format!("at least {p}%"),
        Share::Count(c) => format!("at least {c}"),
    }
}

/// The authority's choice in words, one field per level, for the audit log's before and after:
/// `None` is the platform's default, whose values are written out too.
fn audit_value(fw: &Framework, choice: Option<&BestFitRule>) -> Value {
    let default = BestFitRule::platform_default(fw);
    let rule = choice.unwrap_or(&default);
    let mut map = Map::new();
    map.insert(
        "rule".into(),
        json!(if choice.is_some() {
            "The authority's own"
        } else {
            "The platform's default"
        }),
    );
    for l in &rule.levels {
        map.insert(
            l.level.clone(),
            json!(format!(
                "{} of a theme's strands, {} of the themes",
                share_words(l.strands),
                share_words(l.themes)
            )),
        );
    }
    map.insert(
        "starts_above".into(),
        json!(label_of(
            &STARTS_ABOVE,
            starts_above_value(rule.starts_above)
        )),
    );
    map.insert(
        "stops_below".into(),
        json!(label_of(&STOPS_BELOW, stops_below_value(rule.stops_below))),
    );
    Value::Object(map)
}

pub async fn post_best_fit(
    mut s: Scoped<Administrators>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let (name, fw) = authority(&mut s).await?;
    let current = best_fit_setting::in_force(&mut s.tx, s.tenant, &fw).await?;
    let to_default = form.get("action").map(String::as_str) == Some("default");
    let choice = if to_default {
        None
    } else {
        match parse_rule(&fw, &form) {
            Ok(rule) => Some(rule),
            Err(errors) => {
                let page = page(&s, name, &fw, &current, Some(&form), errors, false);
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        }
    };
    let seen: i32 = form
        .get("version")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1);
    if seen != current.version {
        // Someone else changed the rule after this form was shown: show theirs, keep what was
        // typed, and let the person save again knowingly.
        let page = page(
            &s,
            name,
            &fw,
            &current,
            Some(&form),
            Errors::default(),
            true,
        );
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let unchanged = match (&choice, &current.source) {
        (Some(rule), _) => current.is_own() && current.own.as_ref() == Some(rule),
        (None, Source::Default { .. } | Source::Chosen { own: false, .. }) => true,
        (None, _) => false,
    };
    let state = s.state.clone();
    if unchanged {
        return Ok(redirect_with_flash(
            &state,
            "/settings/best-fit",
            "best-fit-unchanged",
        ));
    }
    let saved =
        best_fit_setting::save(&mut s.tx, s.tenant, s.user.id, choice.as_ref(), seen).await?;
    if !saved {
        // Saved by someone else between reading and writing: the same answer as above.
        let current = best_fit_setting::in_force(&mut s.tx, s.tenant, &fw).await?;
        let page = page(
            &s,
            name,
            &fw,
            &current,
            Some(&form),
            Errors::default(),
            true,
        );
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let before_choice = if current.is_own() {
        current.own.as_ref()
    } else {
        None
    };
    let changed = s
        .event("best_fit_rule.changed")
        .subject("tenant", s.tenant)
        .before(audit_value(&fw, before_choice))
        .after(audit_value(&fw, choice.as_ref()));
    s.record(changed).await?;
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/settings/best-fit",
        "best-fit-saved",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::load_dir;

    fn laqm() -> Arc<Framework> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("criteria");
        load_dir(&dir).unwrap().get("laqm", "v1").unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn default_form() -> Vec<(&'static str, &'static str)> {
        vec![
            ("strands-1", "100%"),
            ("themes-1", "100%"),
            ("strands-2", "75%"),
            ("themes-2", "80%"),
            ("strands-3", "75%"),
            ("themes-3", "80%"),
            ("starts_above", "left_out"),
            ("stops_below", "meets_at_top"),
        ]
    }

    #[test]
    fn the_default_typed_in_is_the_default() {
        let fw = laqm();
        assert_eq!(
            parse_rule(&fw, &form(&default_form())).unwrap(),
            BestFitRule::platform_default(&fw)
        );
    }

    #[test]
    fn each_problem_is_next_to_its_field() {
        let fw = laqm();
        let mut f = default_form();
        f[2].1 = "";
        f[3].1 = "most";
        f[6].1 = "sometimes";
        let errors = parse_rule(&fw, &form(&f)).unwrap_err();
        assert_eq!(
            errors.get("strands-2"),
            Some("Enter the strands of a theme Silver needs")
        );
        assert_eq!(
            errors.get("themes-2"),
            Some("Silver: enter a percentage or a whole number, like 80% or 5")
        );
        assert_eq!(
            errors.get("starts_above"),
            Some("Choose how strands that start above a level count")
        );
        let mut f = default_form();
        f[5].1 = "7";
        let errors = parse_rule(&fw, &form(&f)).unwrap_err();
        assert_eq!(
            errors.get("themes-3"),
            Some("Gold: there are 6 themes; enter 6 or fewer, or a percentage")
        );
    }

    #[test]
    fn the_audit_log_gets_the_rule_in_words() {
        let fw = laqm();
        let mut own = BestFitRule::platform_default(&fw);
        own.levels[1].strands = Share::Count(3);
        assert_eq!(
            audit_value(&fw, Some(&own)),
            json!({
                "rule": "The authority's own",
                "bronze": "all of a theme's strands, all of the themes",
                "silver": "at least 3 of a theme's strands, at least 80% of the themes",
                "gold": "at least 75% of a theme's strands, at least 80% of the themes",
                "starts_above": "Leave them out when that level is judged",
                "stops_below": "They meet it when claimed at their top level",
            })
        );
        assert_eq!(audit_value(&fw, None)["rule"], "The platform's default");
    }
}
