//! casebot's Discord sandbox: a local stand-in for Discord's REST API, gateway and OAuth2.
