//! `register`: creates a user, checking what the real system checks in its
//! order (uniqueness, then password validators, then the retype), and hands
//! out what `issue` names. With `activation` (Djoser's `SEND_ACTIVATION_EMAIL`)
//! the user is inactive until it follows the mailed link; otherwise
//! `confirmation_mail` (`SEND_CONFIRMATION_EMAIL`) sends a welcome notice.

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{bind_optional, fail, one, BoundMail, Issue};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::audit::{Detail, Event};
use crate::engine::EngineError;
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    #[serde(default)]
    issue: Issue,
    /// Django's four password validators (Djoser applies them).
    #[serde(default)]
    validate_password: bool,
    /// Dialects that log in by email make the username the email.
    #[serde(default)]
    username_from_email: bool,
    /// The real system has no unique email (Djoser): a taken email is the
    /// engine's constraint, reported only when nothing the real system checks fails.
    #[serde(default)]
    email_taken_last: bool,
    /// New users are inactive and get the `activation` mail (uid and one-time token).
    #[serde(default)]
    activation: bool,
    /// Without activation, new users get the `confirmation` mail.
    #[serde(default)]
    confirmation_mail: bool,
    #[serde(skip)]
    activation_mail: BoundMail,
    #[serde(skip)]
    confirmation: BoundMail,
}

const ACTIVATION: &str = "activation";
const CONFIRMATION: &str = "confirmation";

const INPUTS: &[Input] = &[
    Input::optional("username"),
    Input::optional("email"),
    Input::required("password"),
    Input::optional("re_password"),
];

#[async_trait]
impl Action for Register {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn outputs(&self) -> Vec<&'static str> {
        self.issue.outputs()
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = Vec::new();
        if wire.has("username") {
            out.push(vec![Failure::field(ErrorKey::UsernameTaken, wire.name("username"))]);
        }
        if wire.has("email") {
            out.push(vec![Failure::field(ErrorKey::EmailTaken, wire.name("email"))]);
        }
        if wire.has("re_password") {
            out.push(vec![Failure::new(ErrorKey::PasswordMismatch)]);
        }
        if self.validate_password {
            out.push(vec![Failure::field(ErrorKey::PasswordTooCommon, wire.name("password"))]);
        }
        out
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        if self.activation && self.issue != Issue::Nothing {
            return Err("activation: a user waiting for activation cannot be handed tokens (issue = \"nothing\")".into());
        }
        self.activation_mail = bind_optional(ctx, self.activation, ACTIVATION)?;
        self.confirmation = bind_optional(ctx, self.confirmation_mail && !self.activation, CONFIRMATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        // Normalised (as Django's create_user) before a username is derived from it.
        let email = crate::store::normalize_email(call.get("email").unwrap_or_default());
        let named = call.inputs.contains_key("username");
        let username = match call.get("username") {
            Some(u) => u.to_owned(),
            None if self.username_from_email => email.clone(),
            None => String::new(),
        };
        if username.is_empty() {
            return Err(one(Failure::field(ErrorKey::FieldRequired, call.wire("username"))));
        }
        // Uniqueness first, as DRF's field validators run before `validate()`.
        let mut taken = Vec::new();
        if named && call.engine.username_taken(&username).await.map_err(fail)? {
            taken.push(Failure::field(ErrorKey::UsernameTaken, call.wire("username")));
        }
        // A username derived from the email is the email: a clash on it is an email clash.
        let email_clash =
            (!email.is_empty() && !self.email_taken_last && call.engine.email_taken(&email).await.map_err(fail)?)
                || (!named && call.engine.username_taken(&username).await.map_err(fail)?);
        if email_clash {
            taken.push(Failure::field(ErrorKey::EmailTaken, call.wire("email")));
        }
        if !taken.is_empty() {
            return Err(taken);
        }
        if self.validate_password {
            let problems = call.password_failures("password", &username, &email);
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        call.check_retype("password", "re_password")?;
        let password = call.secret("password");
        let user = call.engine.create_user_as(&username, &email, &password, !self.activation).await.map_err(|e| {
            // A concurrent registration won the race: same answer as the pre-check.
            match e {
                EngineError::UsernameTaken if !named => one(Failure::field(ErrorKey::EmailTaken, call.wire("email"))),
                EngineError::UsernameTaken => one(Failure::field(ErrorKey::UsernameTaken, call.wire("username"))),
                EngineError::EmailTaken => one(Failure::field(ErrorKey::EmailTaken, call.wire("email"))),
                other => fail(other),
            }
        })?;
        call.audit(Event::AccountCreated, user.id, Detail::default());
        // A user without an address gets no mail (Djoser would hand Django an empty recipient).
        if !user.email.is_empty() {
            if let Some(template) = &self.activation_mail {
                call.issue_and_send(&user, Purpose::Activation, ACTIVATION, template).await?;
            } else if let Some(template) = &self.confirmation {
                call.notify(&user, CONFIRMATION, template).await?;
            }
        }
        let mut out = call.outputs();
        call.issue(self.issue, &user, &mut out).await?;
        Ok(out)
    }
}
