//! `email_verify_request`: mails a one-time email-verification token (template `email_verification`).

use super::mail_request::{MailPurpose, MailRequest};
use crate::store::Purpose;

#[derive(Debug)]
pub struct Verify;

impl MailPurpose for Verify {
    const PURPOSE: Purpose = Purpose::EmailVerification;
    const KIND: &'static str = "email_verification";
}

pub type EmailVerifyRequest = MailRequest<Verify>;
