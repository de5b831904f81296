//! Links' passwords: argon2id hashes made and checked on the blocking pool (a hash costs
//! argon2's deliberate CPU and 19 MiB of memory, which must not stall the async workers),
//! and the bound on wrong guesses per link and client.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use super::ServiceError;
use shortener_domain::LinkPassword;

/// Wrong guesses a client may make at one link within [`GUESS_WINDOW`], per replica.
pub const WRONG_GUESSES: u32 = 5;

/// The window the wrong guesses are counted in.
pub const GUESS_WINDOW: Duration = Duration::from_secs(300);

/// Clients remembered before the oldest windows are let go.
const REMEMBERED: usize = 100_000;

/// The argon2id hash (PHC string, with its salt and parameters) of `password`.
pub async fn hash(password: LinkPassword) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose())
            .map(|hash| hash.to_string())
    })
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or(ServiceError::Invalid {
        field: "password",
        message: "the password could not be hashed",
    })
}

/// Whether `password` is the one `hash` was made of.
pub async fn matches(hash: String, password: LinkPassword) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.expose(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A link and a client's address (unknown for a request that came with none).
type Guesser = (i64, Option<IpAddr>);

/// Wrong guesses so far, and when their window began.
type Window = (u32, Instant);

/// The wrong guesses of each link and client in their current window, on this replica.
#[derive(Default)]
pub struct WrongGuesses(Mutex<HashMap<Guesser, Window>>);

impl WrongGuesses {
    /// Starts a guess: counted as wrong until [`Self::was_right`] says otherwise, so that
    /// guesses sent at once cannot all pass the bound before any is checked. When the
    /// client has used up its wrong guesses, how long until it may guess again.
    pub fn begin_guess(&self, url_id: i64, client: Option<IpAddr>) -> Result<(), Duration> {
        let mut guesses = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if guesses.len() >= REMEMBERED {
            guesses.retain(|_, (_, since)| since.elapsed() < GUESS_WINDOW);
        }
        let window = guesses
            .entry((url_id, client))
            .or_insert((0, Instant::now()));
        if window.1.elapsed() >= GUESS_WINDOW {
            *window = (0, Instant::now());
        }
        if window.0 >= WRONG_GUESSES {
            return Err(GUESS_WINDOW.saturating_sub(window.1.elapsed()));
        }
        window.0 += 1;
        Ok(())
    }

    /// Takes back a guess that was right: only wrong ones count.
    pub fn was_right(&self, url_id: i64, client: Option<IpAddr>) {
        let mut guesses = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = guesses.get_mut(&(url_id, client)) {
            window.0 = window.0.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_matches_its_password_only() {
        let hash = hash(LinkPassword::parse("open sesame").unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(matches(hash.clone(), LinkPassword::parse("open sesame").unwrap()).await);
        assert!(!matches(hash, LinkPassword::parse("open sesame!").unwrap()).await);
    }

    #[test]
    fn a_client_is_stopped_after_its_wrong_guesses_at_one_link_only() {
        let guesses = WrongGuesses::default();
        let client = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..WRONG_GUESSES {
            assert!(guesses.begin_guess(1, client).is_ok());
        }
        let wait = guesses.begin_guess(1, client).unwrap_err();
        assert!(wait <= GUESS_WINDOW && wait > GUESS_WINDOW - Duration::from_secs(5));
        assert!(guesses.begin_guess(2, client).is_ok(), "another link");
        assert!(
            guesses
                .begin_guess(1, Some(IpAddr::from([192, 0, 2, 2])))
                .is_ok(),
            "another client"
        );
    }

    #[test]
    fn right_guesses_do_not_count_and_guesses_at_once_cannot_pass_the_bound() {
        let guesses = WrongGuesses::default();
        for _ in 0..3 * WRONG_GUESSES {
            assert!(guesses.begin_guess(1, None).is_ok());
            guesses.was_right(1, None);
        }
        // Guesses begun together, none answered yet: only the bound's worth begin.
        let begun = (0..2 * WRONG_GUESSES)
            .filter(|_| guesses.begin_guess(1, None).is_ok())
            .count();
        assert_eq!(begun, WRONG_GUESSES as usize);
    }
}
