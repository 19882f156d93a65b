//! Pages anyone may read without signing in: the home page, the criteria of every framework
//! version, the accessibility statement.

use crate::auth::Ctx;
use crate::error::AppError;
use crate::framework::{BestFitRule, Block, Framework};
use crate::layout::Layout;
use crate::state::AppState;
use crate::web::Path;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use std::sync::Arc;

#[derive(Template, WebTemplate)]
#[template(path = "public/home.html")]
pub struct HomePage {
    layout: Layout,
    frameworks: Vec<Arc<Framework>>,
}

pub async fn get_home(State(state): State<AppState>, ctx: Ctx) -> HomePage {
    HomePage {
        layout: ctx.layout("/"),
        frameworks: state.catalogue.all().cloned().collect(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "public/frameworks.html")]
pub struct FrameworksPage {
    layout: Layout,
    frameworks: Vec<Arc<Framework>>,
}

pub async fn get_frameworks(State(state): State<AppState>, ctx: Ctx) -> FrameworksPage {
    FrameworksPage {
        layout: ctx.layout("/frameworks"),
        frameworks: state.catalogue.all().cloned().collect(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "public/framework.html")]
pub struct FrameworkPage {
    layout: Layout,
    fw: Arc<Framework>,
    /// The platform's default best-fit rule in words: the handbook gives none, and each
    /// authority may set its own.
    default_rule: Vec<String>,
    /// Strands told apart by a qualifier: "4.5 (community) and 4.5 (charter)", or empty.
    qualified: String,
}

pub async fn get_framework(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((key, version)): Path<(String, String)>,
) -> Result<FrameworkPage, AppError> {
    let fw = state
        .catalogue
        .get(&key, &version)
        .ok_or(AppError::NotFound)?;
    Ok(FrameworkPage {
        layout: ctx.layout("/frameworks"),
        default_rule: BestFitRule::platform_default(&fw).explain(&fw),
        qualified: {
            let refs: Vec<String> = fw
                .strands()
                .filter(|(_, s)| s.qualifier.is_some())
                .map(|(_, s)| s.reference())
                .collect();
            refs.join(" and ")
        },
        fw,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "public/accessibility.html")]
pub struct AccessibilityPage {
    layout: Layout,
}

pub async fn get_accessibility(ctx: Ctx) -> AccessibilityPage {
    AccessibilityPage {
        layout: ctx.layout("/accessibility"),
    }
}
