//! The sandbox's stand-in for Discord's login and consent screen: a list of people, a button
//! each.

use super::Params;
use crate::world::World;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn chooser(w: &World, p: &Params) -> String {
    let hidden: String = p
        .iter()
        .filter(|(k, _)| k.as_str() != "user")
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    let people: String = w
        .users
        .values()
        .filter(|u| !u.bot)
        .map(|u| {
            format!(
                r#"<li><form method="post" action="/oauth2/authorize">{hidden}<button name="user" value="{}">Log in as {}</button></form></li>"#,
                u.id,
                escape(&u.name)
            )
        })
        .collect();
    let scope = escape(p.get("scope").map(String::as_str).unwrap_or_default());
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Discord sandbox: log in</title></head>\
         <body><h1>casebot wants to access your account</h1><p>Scopes: {scope}</p><ul>{people}</ul>\
         <form method=\"post\" action=\"/oauth2/authorize\">{hidden}<button name=\"deny\" value=\"1\">Cancel</button></form>\
         </body></html>"
    )
}

pub fn error(text: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Discord sandbox</title></head>\
         <body><h1>{}</h1></body></html>",
        escape(text)
    )
}
