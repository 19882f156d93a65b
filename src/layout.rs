//! The layout context every page gets: the signed-in person, navigation for their role, the CSRF
//! token for forms (and the sign-out button), and a message carried over from the last page.

use crate::auth::CurrentUser;

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub nav: Vec<NavItem>,
    /// "Jane Smith, Attendance Lead, Riverside Primary" for the header; `None` when signed out.
    pub signed_in_as: Option<String>,
    pub csrf_token: String,
    pub flash: Option<&'static str>,
}

const PUBLIC_NAV: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/frameworks", "Criteria"),
    ("/sign-in", "Sign in"),
];

impl Layout {
    pub fn new(
        user: Option<&CurrentUser>,
        current_path: &str,
        csrf_token: &str,
        flash: Option<&'static str>,
    ) -> Self {
        let items = match user {
            Some(u) => u.role.nav(),
            None => PUBLIC_NAV,
        };
        let nav = items
            .iter()
            .map(|&(href, label)| NavItem {
                href,
                label,
                current: if href == "/" || href == "/home" {
                    current_path == href
                } else {
                    current_path.starts_with(href)
                },
            })
            .collect();
        let signed_in_as = user.map(|u| {
            let mut parts = vec![u.name.clone(), u.role.label().to_string()];
            if let Some(place) = u.school_name.as_ref().or(u.tenant_name.as_ref()) {
                parts.push(place.clone());
            }
            parts.join(", ")
        });
        Layout {
            nav,
            signed_in_as,
            csrf_token: csrf_token.to_string(),
            flash,
        }
    }

    /// Navigation for people who are not signed in.
    pub fn public(current_path: &str) -> Self {
        Layout::new(None, current_path, "", None)
    }
}
