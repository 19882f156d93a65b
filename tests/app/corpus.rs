//! The bad input corpus: every form on every page that each demo role reaches from its home page
//! (and the public forms), each field in turn given script, SQL metacharacters, a NUL, a 1 MB
//! string, bytes that are not UTF-8, bidirectional overrides and CRLF, the other fields as the
//! page filled them in; upload forms are sent as the browser sends them, each text field given
//! the same with an ordinary file attached, and each file input given each bad value as its name
//! and content. The answer is never a server error, a form refused with 422 gives the typed text
//! back, and afterwards no page shows the script unescaped. The forms are found by following the pages' own links, so a new form is
//! covered the day it appears in a menu.

use crate::helpers::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const SCRIPT: &str = "<script>alert('aqm')</script>";

enum Bad {
    Text(String),
    /// Percent-encoded bytes that do not make UTF-8.
    NotUtf8,
}

fn corpus(in_query: bool) -> Vec<(&'static str, Bad)> {
    // A query string of a megabyte is refused by any server before it reaches a handler; 8 KB
    // is as long as a link gets.
    let long = if in_query { 8 * 1024 } else { 1 << 20 };
    vec![
        (
            "script",
            Bad::Text(format!("{SCRIPT}\"'><img src=x onerror=alert(1)>")),
        ),
        ("sql", Bad::Text("'; DROP TABLE school; -- %_\\".into())),
        ("nul", Bad::Text("before\0after".into())),
        ("long", Bad::Text("a".repeat(long))),
        ("not utf-8", Bad::NotUtf8),
        ("bidi", Bad::Text("\u{202E}fdp.exe\u{2066}x\u{2069}".into())),
        (
            "crlf",
            Bad::Text("line\r\nSet-Cookie: aqm=1\r\n\r\n<b>bold</b>".into()),
        ),
    ]
}

#[derive(Debug, Clone)]
struct FormSpec {
    action: String,
    get: bool,
    multipart: bool,
    password: bool,
    /// Name and value as the page filled them in, in order.
    fields: Vec<(String, String)>,
    /// The fields a person types text into (text-like inputs and textareas).
    typed: BTreeSet<String>,
    /// The file inputs of a multipart form.
    files: Vec<String>,
}

fn decode(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in `tag` (`<input ...>`), if any.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(decode(&tag[start..end]))
}

fn has_flag(tag: &str, name: &str) -> bool {
    tag.contains(&format!(" {name}>"))
        || tag.contains(&format!(" {name} "))
        || tag.contains(&format!(" {name}/"))
        || tag.contains(&format!(" {name}=\""))
}

/// Each `<name ...>` opening tag in `html`, with what follows it.
fn tags<'a>(html: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i..];
        let next = after.as_bytes().get(open.len()).copied().unwrap_or(b'>');
        let Some(end) = after.find('>') else { break };
        if next == b' ' || next == b'>' || next == b'\n' {
            out.push((&after[..=end], &after[end + 1..]));
        }
        rest = &after[end + 1..];
    }
    out
}

fn forms(page: &str, html: &str) -> Vec<FormSpec> {
    let mut out = Vec::new();
    for (tag, rest) in tags(html, "form") {
        let body = &rest[..rest.find("</form>").unwrap_or(rest.len())];
        let action = attr(tag, "action")
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| page.to_string());
        let get = attr(tag, "method").is_none_or(|m| m.eq_ignore_ascii_case("get"));
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut radios: BTreeSet<String> = BTreeSet::new();
        let mut multipart = attr(tag, "enctype").is_some_and(|e| e.contains("multipart"));
        let mut password = false;
        let mut typed = BTreeSet::new();
        let mut files = Vec::new();
        for (input, _) in tags(body, "input") {
            let Some(name) = attr(input, "name") else {
                continue;
            };
            let kind = attr(input, "type").unwrap_or_else(|| "text".into());
            let value = attr(input, "value").unwrap_or_default();
            match kind.as_str() {
                "file" => {
                    multipart = true;
                    files.push(name);
                }
                "password" => {
                    password = true;
                    fields.push((name, value));
                }
                "submit" | "image" | "reset" | "button" => {}
                "checkbox" => {
                    if has_flag(input, "checked") {
                        fields.push((name, value));
                    }
                }
                "radio" => {
                    if has_flag(input, "checked") || !radios.contains(&name) {
                        fields.retain(|(n, _)| *n != name);
                        fields.push((name.clone(), value));
                        radios.insert(name);
                    }
                }
                _ => {
                    if ["text", "email", "search", "url", "tel"].contains(&kind.as_str()) {
                        typed.insert(name.clone());
                    }
                    fields.push((name, value))
                }
            }
        }
        for (ta, after) in tags(body, "textarea") {
            if let Some(name) = attr(ta, "name") {
                let text = &after[..after.find("</textarea>").unwrap_or(0)];
                typed.insert(name.clone());
                fields.push((name, decode(text)));
            }
        }
        for (select, after) in tags(body, "select") {
            let Some(name) = attr(select, "name") else {
                continue;
            };
            let options = &after[..after.find("</select>").unwrap_or(after.len())];
            let all = tags(options, "option");
            let chosen = all
                .iter()
                .find(|(o, _)| has_flag(o, "selected"))
                .or(all.first());
            let value = chosen.map_or(String::new(), |(o, text)| {
                attr(o, "value")
                    .unwrap_or_else(|| decode(text[..text.find('<').unwrap_or(text.len())].trim()))
            });
            fields.push((name, value));
        }
        // The first named button, as a click on it would send.
        if let Some((button, _)) = tags(body, "button")
            .into_iter()
            .find(|(b, _)| attr(b, "name").is_some())
        {
            fields.push((
                attr(button, "name").unwrap(),
                attr(button, "value").unwrap_or_default(),
            ));
        }
        out.push(FormSpec {
            action,
            get,
            multipart,
            password,
            fields,
            typed,
            files,
        });
    }
    out
}

fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let Some(end) = part.find('"') else { continue };
        let href = decode(&part[..end]);
        let href = href.split('#').next().unwrap_or("").to_string();
        if href.starts_with('/') && !href.starts_with("//") && followable(&href) {
            out.push(href);
        }
    }
    out
}

/// Pages to read: not files, not the sign-out.
fn followable(path: &str) -> bool {
    ![
        "/static/",
        "download",
        ".pdf",
        ".zip",
        ".csv",
        ".xlsx",
        "format=",
        "/sign-out",
        "/export",
    ]
    .iter()
    .any(|s| path.contains(s))
}

fn encode(fields: &[(String, String)], target: usize, bad: &Bad, csrf: &str) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut raw = None;
    for (i, (name, value)) in fields.iter().enumerate() {
        let value = if name == "csrf_token" {
            csrf
        } else {
            value.as_str()
        };
        if i != target {
            ser.append_pair(name, value);
            continue;
        }
        match bad {
            Bad::Text(t) => {
                ser.append_pair(name, t);
            }
            Bad::NotUtf8 => {
                raw = Some(format!(
                    "{}=%FF%FEabc%C0%AF",
                    form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
                ));
            }
        }
    }
    let mut body = ser.finish();
    if let Some(r) = raw {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(&r);
    }
    body
}

/// A file the upload forms take: a plain text file, which every one of them accepts or refuses
/// with a message of its own.
const ORDINARY_FILE: (&str, &[u8]) = ("notes.txt", b"Attendance notes for the spring term.\n");

/// `fields` and `files` as multipart/form-data, field `target` (counted over the fields, then the
/// files) given `bad`. A file given a bad value gets it both as its name and as its content.
fn multipart(
    fields: &[(String, String)],
    files: &[String],
    target: usize,
    bad: &Bad,
    csrf: &str,
) -> reqwest::multipart::Form {
    use reqwest::multipart::{Form, Part};
    let bad_bytes = || match bad {
        Bad::Text(t) => t.clone().into_bytes(),
        Bad::NotUtf8 => vec![0xFF, 0xFE, b'a', b'b', b'c', 0xC0, 0xAF],
    };
    let mut form = Form::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        form = if name == "csrf_token" {
            form.text(name.clone(), csrf.to_string())
        } else if i == target {
            form.part(name.clone(), Part::bytes(bad_bytes()))
        } else {
            form.text(name.clone(), value.clone())
        };
    }
    for (i, name) in files.iter().enumerate() {
        let part = if fields.len() + i == target {
            let file_name = match bad {
                Bad::Text(t) => format!("{}.txt", &t[..t.len().min(200)]),
                Bad::NotUtf8 => "not\u{FFFD}utf8.txt".to_string(),
            };
            Part::bytes(bad_bytes()).file_name(file_name)
        } else {
            Part::bytes(ORDINARY_FILE.1).file_name(ORDINARY_FILE.0)
        };
        form = form.part(name.clone(), part);
    }
    form
}

/// The pages `v` reaches from `start` by links, at most `limit`, and the forms on them.
async fn crawl(
    v: &mut Visitor,
    start: &[&str],
    limit: usize,
    report: &mut Report,
) -> Vec<(String, FormSpec)> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = start.iter().map(|s| s.to_string()).collect();
    let mut found = Vec::new();
    while let Some(path) = queue.pop_front() {
        if seen.len() >= limit || !seen.insert(path.clone()) {
            continue;
        }
        let page = v.get(&path).await;
        report.pages += 1;
        assert!(page.status < 500, "GET {path}: {}", page.status);
        assert!(
            !page.body.contains(SCRIPT),
            "GET {path} shows the script unescaped"
        );
        if page.status != 200 {
            continue;
        }
        for f in forms(&path, &page.body) {
            found.push((path.clone(), f));
        }
        for l in links(&page.body) {
            if !seen.contains(&l) {
                queue.push_back(l);
            }
        }
    }
    found
}

#[derive(Default)]
struct Report {
    pages: usize,
    forms: usize,
    fields: usize,
    sent: usize,
    by_status: BTreeMap<u16, usize>,
    skipped: Vec<String>,
    /// Texts typed into a field of a form that was refused (422), and how many came back.
    refused_typed: usize,
    kept: usize,
    not_kept: Vec<String>,
}

/// Each form once (by action with its ids left out, method and field names), each field with
/// each bad value.
async fn attack(
    v: &mut Visitor,
    forms: Vec<(String, FormSpec)>,
    done: &mut BTreeSet<String>,
    signed_in: bool,
    sign_in: &(dyn Fn() -> (String, String) + Sync),
    report: &mut Report,
) {
    for (page, f) in forms {
        let mut names: Vec<&str> = f.fields.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        // Forms that differ only by a record's id are one form.
        let shape: Vec<&str> = f
            .action
            .split('/')
            .map(|seg| {
                if seg.parse::<uuid::Uuid>().is_ok() {
                    "{id}"
                } else {
                    seg
                }
            })
            .collect();
        let key = format!(
            "{} {} {}",
            if f.get { "GET" } else { "POST" },
            shape.join("/"),
            names.join(",")
        );
        if !done.insert(key.clone()) {
            continue;
        }
        // Changing the signed-in person's own password or signing out would end the crawl, not
        // test a field.
        if (signed_in && f.password) || f.action.contains("/sign-out") {
            report.skipped.push(key);
            continue;
        }
        report.forms += 1;
        for target in 0..f.fields.len() + f.files.len() {
            let name = match f.fields.get(target) {
                Some((name, _)) => name.clone(),
                None => f.files[target - f.fields.len()].clone(),
            };
            if name == "csrf_token" {
                continue;
            }
            report.fields += 1;
            for (what, bad) in corpus(f.get) {
                // A fresh page each time: the last answer may have moved the session on.
                let fresh = v.get(&page).await;
                if signed_in && fresh.status == 303 {
                    let (email, password) = sign_in();
                    v.sign_in(&email, &password).await;
                    v.get(&page).await;
                }
                let answer = if f.multipart {
                    let form = multipart(&f.fields, &f.files, target, &bad, &v.csrf());
                    v.post_multipart(&f.action, form).await
                } else if f.get {
                    let body = encode(&f.fields, target, &bad, &v.csrf());
                    let sep = if f.action.contains('?') { '&' } else { '?' };
                    v.get(&format!("{}{sep}{body}", f.action)).await
                } else {
                    let body = encode(&f.fields, target, &bad, &v.csrf());
                    v.post_encoded(&f.action, body).await
                };
                report.sent += 1;
                *report.by_status.entry(answer.status).or_default() += 1;
                assert!(
                    answer.status < 500,
                    "{key}: field {name} given {what}: {} {}",
                    answer.status,
                    &answer.body[..answer.body.len().min(400)]
                );
                assert!(
                    !answer.body.contains(SCRIPT),
                    "{key}: field {name} given {what}: the script came back unescaped"
                );
                // A refusal gives back what the person typed, so nothing typed is lost.
                if let Bad::Text(text) = &bad
                    && what == "script"
                    && !f.get
                    && answer.status == 422
                    && f.typed.contains(&name)
                {
                    report.refused_typed += 1;
                    if answer.body.contains(&html_escape(text)) {
                        report.kept += 1;
                    } else {
                        report.not_kept.push(format!("{key}: {name}"));
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn every_form_field_takes_bad_input_without_a_server_error_or_unescaped_script() {
    let app = spawn_app().await;
    let password = "demo-attendance-2026";
    aqm::admin::demo::seed(&app.pool, password)
        .await
        .expect("demo");
    let mut report = Report::default();
    let mut done = BTreeSet::new();

    // The public forms first (sign-in, reset, the framework pages), without a session.
    let mut anon = app.visitor();
    let found = crawl(&mut anon, &["/", "/sign-in", "/reset"], 30, &mut report).await;
    let none = || (String::new(), String::new());
    attack(&mut anon, found, &mut done, false, &none, &mut report).await;

    // Then each role from its home page; the operator and administrator last, as their forms
    // change who may sign in.
    for (role, email, _) in aqm::admin::demo::ACCOUNTS {
        let mut v = app.visitor();
        let page = v.sign_in(email, password).await;
        assert_eq!(page.status, 303, "{role:?} signs in");
        let found = crawl(&mut v, &["/home"], 60, &mut report).await;
        let again = || (email.to_string(), password.to_string());
        attack(&mut v, found, &mut done, true, &again, &mut report).await;
    }

    // Whatever was stored is shown escaped on every page afterwards.
    for (_, email, _) in aqm::admin::demo::ACCOUNTS {
        let mut v = app.visitor();
        if v.sign_in(email, password).await.status == 303 {
            crawl(&mut v, &["/home"], 60, &mut report).await;
        }
    }
    let errors: usize = report
        .by_status
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    println!(
        "security: bad input: {} submissions to {} fields of {} forms ({} pages read), {errors} server errors; {} of {} refused texts given back on the page; answers {:?}; not sent: {:?}; not given back: {:?}",
        report.sent,
        report.fields,
        report.forms,
        report.pages,
        report.kept,
        report.refused_typed,
        report.by_status,
        report.skipped,
        report.not_kept
    );
    assert!(report.forms >= 20, "too few forms found: {}", report.forms);
    // Nothing typed is lost: a refused form gives the person's text back to them.
    assert!(report.refused_typed > 0, "no typed text was refused");
    assert!(
        report.not_kept.is_empty(),
        "refused text not given back: {:?}",
        report.not_kept
    );
    // The corpus reached the handlers, not only the CSRF check.
    let refused_by_csrf = report.by_status.get(&403).copied().unwrap_or(0);
    assert!(
        refused_by_csrf * 2 < report.sent,
        "most submissions were refused before their handler: {:?}",
        report.by_status
    );
}
