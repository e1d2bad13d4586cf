//! Slash commands, buttons and forms: each is checked (staff actions only in the staff server and
//! only for the support team, customer buttons only on the customer's own case), handed to a
//! service, and answered once within Discord's three seconds. A refusal is private to the person
//! and audited.

use serde_json::Value;
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, ComponentInteractionDataKind,
    ModalInteraction,
};

use super::commands::{self, StaffCommand};
use super::components::{self, private_answer, public_answer};
use super::custom_id::Control;
use super::events::{refused, staff_role, Handler};
use crate::domain::{CaseAction, CaseId, Intent, StaffId, UserId};
use crate::render::case::queue_line;
use crate::services::customers::CustomerAction;
use crate::services::ActionError;

/// Where an interaction came from, as casebot checks it.
struct Origin {
    user: String,
    in_staff_server: bool,
    roles: Vec<u64>,
    channel: String,
}

impl Handler {
    async fn answer(&self, id: u64, token: &str, body: Value) {
        if let Err(e) = self.rest.callback(id, token, &body).await {
            tracing::warn!(error = %e, "an interaction could not be answered");
        }
    }

    fn is_staff_member(&self, origin: &Origin) -> bool {
        staff_role(&self.settings, &origin.roles).is_some()
    }

    /// Refuses a staff action from outside the staff server or the support team, and records it.
    async fn refuse_staff(&self, origin: &Origin, case: Option<CaseId>, attempted: &str) -> String {
        let reason = if origin.in_staff_server {
            "not on the support team"
        } else {
            "staff actions work only in the staff server"
        };
        let staff = StaffId::new(origin.user.clone());
        if let Err(e) = self
            .app
            .staff
            .record_refusal(case, &staff, attempted, reason)
            .await
        {
            tracing::error!(error = %e, "a refusal was not recorded");
        }
        if origin.in_staff_server {
            "Only the support team can do that.".into()
        } else {
            "casebot's staff actions work only in the staff server.".into()
        }
    }

    /// A staff slash command.
    pub(super) async fn command(&self, cmd: CommandInteraction) {
        let origin = Origin {
            user: cmd.user.id.to_string(),
            in_staff_server: cmd.guild_id.map(|g| g.get()) == Some(self.settings.staff_guild),
            roles: cmd
                .member
                .as_ref()
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            channel: cmd.channel_id.to_string(),
        };
        let text = match commands::parse(&cmd) {
            None => "That command is not casebot's, or its options are incomplete.".to_owned(),
            Some(command) if !origin.in_staff_server || !self.is_staff_member(&origin) => {
                self.refuse_staff(&origin, command.case(), command.name())
                    .await
            }
            Some(command) => self.run_command(&origin, command).await,
        };
        self.answer(cmd.id.get(), &cmd.token, private_answer(&text))
            .await;
    }

    async fn run_command(&self, origin: &Origin, command: StaffCommand) -> String {
        let staff = StaffId::new(origin.user.clone());
        if let Err(e) = self.sync_staff(&staff, &origin.roles).await {
            return components::error_text(&e);
        }
        let command = match self.app.cards.case_of_thread(&origin.channel).await {
            Ok(Some(case)) => command.in_case(case),
            _ => command,
        };
        match self.execute(&staff, command).await {
            Ok(text) => text,
            Err(e) => components::error_text(&e),
        }
    }

    async fn execute(&self, staff: &StaffId, command: StaffCommand) -> Result<String, ActionError> {
        let named = |case: Option<CaseId>| {
            case.ok_or_else(|| {
                ActionError::Invalid(
                    "name the case (case: 12), or use this in the case's thread".into(),
                )
            })
        };
        let staff_svc = &self.app.staff;
        let act = |case: CaseId, action: CaseAction| async move {
            let state = staff_svc.act(case, staff, action.clone()).await?;
            Ok::<_, ActionError>(components::action_done(case, &action, state))
        };
        match command {
            StaffCommand::Queue => {
                let queue = self.app.cards.queue(20).await?;
                if queue.is_empty() {
                    return Ok("The queue is empty.".into());
                }
                Ok(queue.iter().map(queue_line).collect::<Vec<_>>().join("\n"))
            }
            StaffCommand::Claim(None) => match staff_svc.claim_next(staff).await? {
                Some(case) => Ok(format!(
                    "You claimed case #{case}; you're in its thread now."
                )),
                None => Ok("The queue is empty.".into()),
            },
            StaffCommand::Claim(Some(case)) => {
                act(
                    case,
                    CaseAction::Claim {
                        staff: staff.clone(),
                    },
                )
                .await
            }
            StaffCommand::Release(case) => act(named(case)?, CaseAction::Release).await,
            StaffCommand::Transfer(case, to) => {
                act(named(case)?, CaseAction::Transfer { to }).await
            }
            StaffCommand::Resolve(case, summary) => {
                act(named(case)?, CaseAction::Resolve { summary }).await
            }
            StaffCommand::Reply(case, text) => {
                let case = named(case)?;
                staff_svc.reply(case, staff, &text, None).await?;
                Ok(format!("Sent to the customer of case #{case}."))
            }
            StaffCommand::Note(case, text) => {
                let case = named(case)?;
                staff_svc.note(case, staff, &text).await?;
                Ok(format!("Note added to case #{case}."))
            }
            StaffCommand::Show(case) => self.show(named(case)?, staff).await,
            StaffCommand::Block(case) => {
                let case = named(case)?;
                staff_svc.set_blocked(case, staff, true).await?;
                Ok(format!("The customer of case #{case} is blocked."))
            }
            StaffCommand::Unblock(case) => {
                let case = named(case)?;
                staff_svc.set_blocked(case, staff, false).await?;
                Ok(format!("The customer of case #{case} is unblocked."))
            }
        }
    }

    /// `/case N`: the case's facts, privately, and the person who asked added to its thread.
    async fn show(&self, case: CaseId, staff: &StaffId) -> Result<String, ActionError> {
        let view = self
            .app
            .cards
            .view(case)
            .await?
            .ok_or(ActionError::NotFound(case))?;
        self.app.staff.join_thread(case, staff).await?;
        let fields: Vec<String> = components::card_fields(&view, &self.app.config.sla)
            .into_iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        Ok(format!(
            "Case #{case} (you're in its thread now)\n{}",
            fields.join("\n")
        ))
    }

    /// A button.
    pub(super) async fn component(&self, c: ComponentInteraction) {
        let origin = Origin {
            user: c.user.id.to_string(),
            in_staff_server: c.guild_id.map(|g| g.get()) == Some(self.settings.staff_guild),
            roles: c
                .member
                .as_ref()
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            channel: c.channel_id.to_string(),
        };
        let chosen = match &c.data.kind {
            ComponentInteractionDataKind::StringSelect { values } => values.as_slice(),
            _ => &[],
        };
        let answer = match Control::parse(&c.data.custom_id) {
            None => private_answer("That button is no longer in use."),
            Some(control) if control.is_staff() => {
                self.staff_button(&origin, control, &c.data.custom_id, chosen)
                    .await
            }
            Some(control) => self.customer_button(&origin, control).await,
        };
        self.answer(c.id.get(), &c.token, answer).await;
    }

    /// A staff button or select (`chosen`: the values picked in a select).
    async fn staff_button(
        &self,
        origin: &Origin,
        control: Control,
        custom_id: &str,
        chosen: &[String],
    ) -> Value {
        let case = control.case();
        if !origin.in_staff_server || !self.is_staff_member(origin) {
            return private_answer(&self.refuse_staff(origin, Some(case), custom_id).await);
        }
        let staff = StaffId::new(origin.user.clone());
        if let Err(e) = self.sync_staff(&staff, &origin.roles).await {
            return private_answer(&components::error_text(&e));
        }
        let command = match control {
            Control::Reply(case) => return components::modal(components::reply_form(case)),
            Control::Claim(case) => StaffCommand::Claim(Some(case)),
            Control::Release(case) => StaffCommand::Release(Some(case)),
            Control::CorrectIntent(case) => {
                return private_answer(&self.correct_intent(case, &staff, chosen).await)
            }
            Control::NoPerson(case) => {
                let text = match self.app.staff.correct_no_person(case, &staff).await {
                    Ok(done) => components::correction_done(case, done),
                    Err(e) => components::error_text(&e),
                };
                return private_answer(&text);
            }
            _ => StaffCommand::Resolve(Some(case), "resolved from the case card".into()),
        };
        // The outbox refreshes the card; the click is answered privately.
        match self.execute(&staff, command).await {
            Ok(text) => private_answer(&text),
            Err(e) => private_answer(&components::error_text(&e)),
        }
    }

    /// The intent picked in a card's "Wrong intent?" select, recorded as a correction. The card
    /// is refreshed through the outbox; the answer is private.
    async fn correct_intent(&self, case: CaseId, staff: &StaffId, chosen: &[String]) -> String {
        let Some(intent) = chosen.first().and_then(|v| v.parse::<Intent>().ok()) else {
            return "Pick one of the intents in the list.".into();
        };
        match self.app.staff.correct_intent(case, staff, intent).await {
            Ok(done) => components::correction_done(case, done),
            Err(e) => components::error_text(&e),
        }
    }

    async fn customer_button(&self, origin: &Origin, control: Control) -> Value {
        let user = UserId::new(origin.user.clone());
        let (action, thanks) = match control {
            Control::RequestCall(case) => {
                return match self.app.customers.own_case(case, &user).await {
                    Ok(_) => components::modal(components::callback_form(case)),
                    Err(e) => private_answer(&components::error_text(&e)),
                };
            }
            Control::TalkToPerson(_) => (
                CustomerAction::TalkToPerson,
                "Thanks, a member of our team will reply here.".to_owned(),
            ),
            Control::Solved(_) => (CustomerAction::Solved, "Glad that sorted it!".to_owned()),
            Control::Helped(_) => (
                CustomerAction::ArticleHelped,
                "Glad that helped! If anything else comes up, just write here.".to_owned(),
            ),
            Control::StillNeedHelp(_) => (
                CustomerAction::StillNeedHelp,
                "Thanks, a member of our team will reply here.".to_owned(),
            ),
            Control::Rate(_, stars) => (
                CustomerAction::Rate(stars),
                format!("Thanks for rating us {stars}/5."),
            ),
            _ => return private_answer("Please use the form."),
        };
        match self.app.customers.act(control.case(), &user, action).await {
            Ok(_) => public_answer(&thanks),
            Err(e) => private_answer(&components::error_text(&e)),
        }
    }

    /// A submitted form.
    pub(super) async fn modal(&self, m: ModalInteraction) {
        let field = |name: &str| {
            m.data
                .components
                .iter()
                .flat_map(|row| row.components.iter())
                .find_map(|c| match c {
                    ActionRowComponent::InputText(t) if t.custom_id == name => t.value.clone(),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let answer = match Control::parse(&m.data.custom_id) {
            Some(Control::CallbackForm(case)) => {
                self.callback_form(case, &m.user.id.to_string(), &field("phone"))
                    .await
            }
            Some(Control::ReplyForm(case)) => {
                let origin = Origin {
                    user: m.user.id.to_string(),
                    in_staff_server: m.guild_id.map(|g| g.get()) == Some(self.settings.staff_guild),
                    roles: m
                        .member
                        .as_ref()
                        .map(|mm| mm.roles.iter().map(|r| r.get()).collect())
                        .unwrap_or_default(),
                    channel: m.channel_id.to_string(),
                };
                self.reply_form(&origin, case, &field("text")).await
            }
            _ => refused("that form is no longer in use"),
        };
        self.answer(m.id.get(), &m.token, private_answer(&answer))
            .await;
    }

    async fn callback_form(&self, case: CaseId, user: &str, phone: &str) -> String {
        if let Err(e) = self.app.customers.own_case(case, &UserId::new(user)).await {
            return components::error_text(&e);
        }
        match self.app.callbacks.request(case, phone).await {
            Ok(_) => {
                "Thanks, we'll call you shortly. The number stays with the person who calls.".into()
            }
            Err(e) => components::error_text(&e),
        }
    }

    async fn reply_form(&self, origin: &Origin, case: CaseId, text: &str) -> String {
        if !origin.in_staff_server || !self.is_staff_member(origin) {
            return self.refuse_staff(origin, Some(case), "reply form").await;
        }
        self.run_command(origin, StaffCommand::Reply(Some(case), text.to_owned()))
            .await
    }
}
