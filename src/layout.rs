//! The layout every page gets: navigation, who is signed in, the CSRF token for forms (and the
//! sign-out button), and a message carried over from the last page. Built from plain values, so
//! the layout knows nothing of how people sign in.

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

/// Navigation for people who are not signed in.
pub const PUBLIC_NAV: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/frameworks", "Criteria"),
    ("/sign-in", "Sign in"),
];

/// What a request knows for its page's layout: the navigation of the person's role, how they are
/// named in the header, the form token and a one-time message.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub nav: &'static [(&'static str, &'static str)],
    pub signed_in_as: Option<String>,
    pub csrf_token: String,
    pub flash: Option<&'static str>,
}

impl Default for PageContext {
    fn default() -> Self {
        PageContext {
            nav: PUBLIC_NAV,
            signed_in_as: None,
            csrf_token: String::new(),
            flash: None,
        }
    }
}

impl PageContext {
    /// The layout of the page at `current_path`: the navigation item it falls under is marked.
    pub fn layout(&self, current_path: &str) -> Layout {
        let nav = self
            .nav
            .iter()
            .map(|&(href, label)| NavItem {
                href,
                label,
                current: is_current(href, current_path),
            })
            .collect();
        Layout {
            nav,
            signed_in_as: self.signed_in_as.clone(),
            csrf_token: self.csrf_token.clone(),
            flash: self.flash,
        }
    }
}

/// Home items match only themselves; others match the pages below them too.
fn is_current(href: &str, current_path: &str) -> bool {
    if href == "/" || href == "/home" {
        current_path == href
    } else {
        current_path == href
            || current_path
                .strip_prefix(href)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Layout {
    /// The layout of a page seen signed out.
    pub fn public(current_path: &str) -> Self {
        PageContext::default().layout(current_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_item_is_marked() {
        assert!(is_current("/home", "/home"));
        assert!(!is_current("/home", "/homework"));
        assert!(is_current("/evidence", "/evidence/upload"));
        assert!(!is_current("/evidence", "/evidencexyz"));
        assert!(!is_current("/", "/frameworks"));
    }
}
