//! The layout context every page gets: navigation, and (as accounts arrive) the signed-in person,
//! the flash message and the CSRF token.

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub nav: Vec<NavItem>,
}

impl Layout {
    /// Navigation for people who are not signed in; `current` is the path of the page shown.
    pub fn public(current: &str) -> Self {
        let items = [("/", "Home"), ("/frameworks", "Criteria")];
        Layout {
            nav: items
                .into_iter()
                .map(|(href, label)| NavItem {
                    href,
                    label,
                    current: if href == "/" {
                        current == "/"
                    } else {
                        current.starts_with(href)
                    },
                })
                .collect(),
        }
    }
}
