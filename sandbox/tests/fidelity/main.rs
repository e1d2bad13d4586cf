//! The sandbox's fidelity tests: one per documented behaviour, each written from Discord's
//! documentation, speaking HTTP and websocket as any client would; and one test running a real
//! serenity bot against the sandbox.

mod support;

mod commands;
mod gateway;
mod interactions;
mod messages;
mod oauth2;
mod permissions;
mod rate_limits;
mod rest;
mod serenity_bot;
mod threads;
