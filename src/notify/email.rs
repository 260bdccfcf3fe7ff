//! An email channel: the message as a plain-text email over SMTP (lettre, with rustls).
//!
//! `tls = "starttls"` (the default, port 587) upgrades the connection and refuses a server
//! that cannot; `"tls"` (port 465) speaks TLS from the start; `"none"` sends in the clear and
//! is accepted only for a server on loopback (a local relay). The password comes from a file
//! or the environment like every secret. Each notice keeps its Message-ID across retries, so
//! a mail reader shows a repeat once.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::Message;
use crate::secret::SecretSource;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// None: only for a server on loopback.
    None,
}

/// An email channel's settings.
#[derive(Debug, Clone)]
pub struct Email {
    /// The SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: Tls,
    /// The login: user name and password, if the server wants one.
    pub login: Option<(String, SecretSource)>,
    /// The sender.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
}

impl Email {
    /// Sends notice `id`.
    pub async fn send(&self, id: i64, message: &Message, timeout: Duration) -> anyhow::Result<()> {
        let mut builder = lettre::Message::builder()
            .from(self.from.parse()?)
            .subject(format!("herald: {}", message.summary))
            .message_id(Some(format!("<herald-notice-{id}@{}>", domain_of(&self.from))))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.parse()?);
        }
        let email = builder.body(message.text())?;
        let transport = match self.tls {
            Tls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)?,
            Tls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)?,
            Tls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
        };
        let mut transport = transport.port(self.port).timeout(Some(timeout));
        if let Some((user, password)) = &self.login {
            let password = password.read()?;
            transport =
                transport.credentials(Credentials::new(user.clone(), password.expose().into()));
        }
        let sent = tokio::time::timeout(timeout, transport.build().send(email)).await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => anyhow::bail!("SMTP {}:{}: {e}", self.host, self.port),
            Err(_) => {
                anyhow::bail!("SMTP {}:{}: no answer within {timeout:?}", self.host, self.port)
            }
        }
    }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("herald.invalid", |(_, d)| d.trim_end_matches('>'))
}
