//! The keys a settings struct accepts, read from its own `Deserialize` implementation: the
//! schema is the struct, and nothing keeps a second list beside it.

use serde::Deserialize;
use serde::de::{self, Visitor};

/// The field names `T` deserializes (kebab-case, as written in TOML).
pub fn keys_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut recorder = FieldRecorder { fields: &[] };
    // The recorder answers every request with an error once it has seen the fields.
    let _ = T::deserialize(&mut recorder);
    recorder.fields
}

struct FieldRecorder {
    fields: &'static [&'static str],
}

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("fields recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Recorded
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldRecorder {
    type Error = Recorded;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Recorded> {
        self.fields = fields;
        Err(Recorded)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_structs_keys_come_from_its_deserialize() {
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        #[allow(dead_code)]
        struct Example {
            install_prefix: Option<String>,
            find_links: Vec<String>,
        }
        assert_eq!(keys_of::<Example>(), ["install-prefix", "find-links"]);
    }
}
