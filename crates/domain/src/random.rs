//! Random text from the thread-local CSPRNG: generated short codes, API key secrets and
//! the suffixes that keep connection names unique.

use rand::Rng;

/// Letters and digits: the alphabet of generated short codes.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Letters, digits, `_` and `-`: 6 bits a character, safe in URLs and headers.
pub const URL_SAFE: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

/// `length` characters drawn uniformly from `alphabet` (ASCII) with the thread's CSPRNG
/// (`rand`'s `ThreadRng`: ChaCha, seeded and reseeded from the OS).
pub fn text(length: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// A secret of `characters` URL-safe characters: 6 bits of entropy each.
pub fn secret(characters: usize) -> String {
    text(characters, URL_SAFE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_the_length_and_alphabet_asked_for_and_every_letter_occurs() {
        let drawn = text(10_000, BASE62);
        assert_eq!(drawn.len(), 10_000);
        assert!(drawn.bytes().all(|b| BASE62.contains(&b)));
        // 10,000 uniform draws over 62 letters miss one with probability ~62·e^-161.
        assert!(
            BASE62
                .iter()
                .all(|letter| drawn.as_bytes().contains(letter))
        );
        assert_ne!(secret(40), secret(40));
    }
}
