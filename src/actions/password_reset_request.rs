//! `password_reset_request`: mails a one-time reset token (template `password_reset`).

use super::mail_request::{MailPurpose, MailRequest};
use crate::store::Purpose;

#[derive(Debug)]
pub struct Reset;

impl MailPurpose for Reset {
    const PURPOSE: Purpose = Purpose::PasswordReset;
    const KIND: &'static str = "password_reset";
}

pub type PasswordResetRequest = MailRequest<Reset>;
