//! A `serde::Deserializer` over the config tree (see the crate docs for the
//! mapping rules). Errors carry the path of the offending option.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::{key_eq, parse_bool, ConfigError, ConfigItem, ConfigValue};

type Result<T> = std::result::Result<T, ConfigError>;

impl de::Error for ConfigError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ConfigError {
            path: None,
            message: msg.to_string(),
        }
    }
}

/// Field names that receive a block's own values (`<Server "a" "b">`).
const VALUES_FIELDS: [&str; 2] = ["$values", "$value"];

/// Deserializes `T` from the options of a block whose path is `path`.
pub(crate) fn from_items<T: de::DeserializeOwned>(path: &str, items: &[ConfigItem]) -> Result<T> {
    let de = BlockDe {
        path: path.to_owned(),
        values: &[],
        children: items,
    };
    T::deserialize(de).map_err(|e| e.located(|| path.to_owned()))
}

fn join(parent: &str, item: &ConfigItem) -> String {
    format!("{parent} / {}", item.describe())
}

fn describe_values(values: &[ConfigValue]) -> String {
    match values {
        [] => "no value".to_owned(),
        [v] => v.describe(),
        vs => format!("{} values", vs.len()),
    }
}

/// A block: its own values plus child options.
struct BlockDe<'a> {
    path: String,
    values: &'a [ConfigValue],
    children: &'a [ConfigItem],
}

/// One entry of a block seen as a map.
enum Entry<'a> {
    /// All occurrences of one option.
    Items {
        key: &'a str,
        items: Vec<&'a ConfigItem>,
    },
    /// The block's own values, under the `$values` field.
    Values { key: &'static str },
}

struct BlockMap<'a> {
    path: String,
    values: &'a [ConfigValue],
    entries: std::vec::IntoIter<Entry<'a>>,
    pending: Option<Entry<'a>>,
}

impl<'a> BlockDe<'a> {
    fn entries(&self, fields: Option<&'static [&'static str]>) -> Vec<Entry<'a>> {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        if let Some(fields) = fields {
            if let Some(vf) = fields.iter().find(|f| VALUES_FIELDS.contains(f)) {
                if !self.values.is_empty() {
                    entries.push(Entry::Values { key: vf });
                }
            }
        }
        for child in self.children {
            let key: &'a str = match fields {
                Some(fields) => fields
                    .iter()
                    .find(|f| !VALUES_FIELDS.contains(f) && key_eq(f, &child.key))
                    .copied()
                    .unwrap_or(child.key.as_str()),
                None => child.key.as_str(),
            };
            let existing = entries.iter_mut().find_map(|e| match e {
                Entry::Items { key: k, items } if *k == key => Some(items),
                _ => None,
            });
            match existing {
                Some(items) => items.push(child),
                None => entries.push(Entry::Items {
                    key,
                    items: vec![child],
                }),
            }
        }
        entries
    }

    fn map(self, fields: Option<&'static [&'static str]>) -> BlockMap<'a> {
        let entries = self.entries(fields);
        BlockMap {
            path: self.path,
            values: self.values,
            entries: entries.into_iter(),
            pending: None,
        }
    }
}

impl<'de> MapAccess<'de> for BlockMap<'de> {
    type Error = ConfigError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let (key, path) = match &entry {
            Entry::Items { key, items } => (*key, join(&self.path, items[0])),
            Entry::Values { key } => (*key, self.path.clone()),
        };
        self.pending = Some(entry);
        seed.deserialize(key.into_deserializer())
            .map(Some)
            .map_err(|e: ConfigError| e.located(|| path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        match self.pending.take() {
            Some(Entry::Items { items, .. }) => seed.deserialize(FieldDe {
                parent: &self.path,
                items,
            }),
            Some(Entry::Values { .. }) => seed.deserialize(ValuesDe {
                path: &self.path,
                values: self.values,
            }),
            None => Err(de::Error::custom(
                "internal error: value requested before key",
            )),
        }
    }
}

impl<'de> de::Deserializer<'de> for BlockDe<'de> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let path = self.path.clone();
        visitor
            .visit_map(self.map(None))
            .map_err(|e| e.located(|| path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let path = self.path.clone();
        if !self.values.is_empty() && !fields.iter().any(|f| VALUES_FIELDS.contains(f)) {
            return Err(ConfigError::at(
                path,
                format!(
                    "this block takes no values, got {} (add a \"$values\" field to accept them)",
                    describe_values(self.values)
                ),
            ));
        }
        visitor
            .visit_map(self.map(Some(fields)))
            .map_err(|e| e.located(|| path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// All occurrences of one option in a block. Sequences get one element per
/// occurrence; anything else takes the last occurrence (collectd's rule).
struct FieldDe<'a, 'p> {
    parent: &'p str,
    items: Vec<&'a ConfigItem>,
}

impl<'a> FieldDe<'a, '_> {
    fn last(&self) -> ItemDe<'a> {
        let item = self.items[self.items.len() - 1];
        ItemDe {
            path: join(self.parent, item),
            item,
        }
    }
}

macro_rules! forward_to_last {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.last().$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for FieldDe<'de, '_> {
    type Error = ConfigError;

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let parent = self.parent;
        let items = self.items.into_iter().map(move |item| ItemDe {
            path: join(parent, item),
            item,
        });
        visitor.visit_seq(Seq { iter: items })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.last().deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.last().deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.last().deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.last().deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.last().deserialize_unit_struct(name, visitor)
    }

    forward_to_last! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64
        deserialize_char deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_map deserialize_identifier deserialize_ignored_any
    }
}

struct Seq<I> {
    iter: I,
}

impl<'de, I, D> SeqAccess<'de> for Seq<I>
where
    I: Iterator<Item = D>,
    D: de::Deserializer<'de, Error = ConfigError>,
{
    type Error = ConfigError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.iter.next() {
            Some(d) => seed.deserialize(d).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.iter.size_hint().1
    }
}

/// One config line or block.
struct ItemDe<'a> {
    path: String,
    item: &'a ConfigItem,
}

impl<'a> ItemDe<'a> {
    fn single(&self, want: &str) -> Result<ValueDe<'a, '_>> {
        match self.item.values.as_slice() {
            [v] if self.item.children.is_empty() => Ok(ValueDe {
                path: &self.path,
                key: &self.item.key,
                value: v,
            }),
            [_] => Err(ConfigError::at(
                self.path.clone(),
                format!("option \"{}\" expects {want}, got a block", self.item.key),
            )),
            vs => Err(ConfigError::at(
                self.path.clone(),
                format!(
                    "option \"{}\" expects {want}, got {}",
                    self.item.key,
                    describe_values(vs)
                ),
            )),
        }
    }
    fn values_de(&self) -> ValuesDe<'a, '_> {
        ValuesDe {
            path: &self.path,
            values: &self.item.values,
        }
    }
    fn block(&self) -> BlockDe<'a> {
        BlockDe {
            path: self.path.clone(),
            values: &self.item.values,
            children: &self.item.children,
        }
    }
}

macro_rules! scalar_via_single {
    ($($method:ident => $want:literal)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                let path = self.path.clone();
                self.single($want)?.$method(visitor).map_err(|e| e.located(|| path))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ItemDe<'de> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if !self.item.children.is_empty() {
            return self.block().deserialize_any(visitor);
        }
        let path = self.path.clone();
        let r = if self.item.values.len() == 1 {
            self.single("a value")?.deserialize_any(visitor)
        } else {
            self.values_de().deserialize_seq(visitor)
        };
        r.map_err(|e| e.located(|| path))
    }

    scalar_via_single! {
        deserialize_bool => "a boolean"
        deserialize_i8 => "an integer" deserialize_i16 => "an integer"
        deserialize_i32 => "an integer" deserialize_i64 => "an integer"
        deserialize_u8 => "an integer" deserialize_u16 => "an integer"
        deserialize_u32 => "an integer" deserialize_u64 => "an integer"
        deserialize_f32 => "a number" deserialize_f64 => "a number"
        deserialize_char => "a character" deserialize_str => "a string"
        deserialize_string => "a string" deserialize_bytes => "a string"
        deserialize_byte_buf => "a string" deserialize_identifier => "a name"
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let path = self.path.clone();
        self.single("one of the names")?
            .deserialize_enum(name, variants, visitor)
            .map_err(|e| e.located(|| path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let path = self.path.clone();
        self.values_de()
            .deserialize_seq(visitor)
            .map_err(|e| e.located(|| path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        let path = self.path.clone();
        self.values_de()
            .deserialize_tuple(len, visitor)
            .map_err(|e| e.located(|| path))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.block().deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.block().deserialize_struct(name, fields, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { i128 u128 }
}

/// The values of a line, as a sequence (or a single scalar).
struct ValuesDe<'a, 'p> {
    path: &'p str,
    values: &'a [ConfigValue],
}

impl<'de> de::Deserializer<'de> for ValuesDe<'de, '_> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.values {
            [v] => ValueDe {
                path: self.path,
                key: "",
                value: v,
            }
            .deserialize_any(visitor),
            _ => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let path = self.path;
        let n = self.values.len();
        let mut seq = Seq {
            iter: self.values.iter().map(move |v| ValueDe {
                path,
                key: "",
                value: v,
            }),
        };
        let out = visitor.visit_seq(&mut seq)?;
        if seq.iter.next().is_some() {
            return Err(ConfigError::at(path, format!("too many values: got {n}")));
        }
        Ok(out)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        // Missing trailing values are allowed for `Option` elements:
        // `<Server "host">` fills `(String, Option<String>)`.
        let path = self.path;
        let n = self.values.len();
        if n > len {
            return Err(ConfigError::at(
                path,
                format!("too many values: got {n}, expected at most {len}"),
            ));
        }
        let values = self.values;
        let slots = (0..len).map(move |index| SlotDe {
            path,
            index,
            value: values.get(index),
        });
        visitor.visit_seq(Seq { iter: slots })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct tuple_struct map struct enum identifier ignored_any
    }
}

/// One position of a tuple: a value, or a missing trailing one.
struct SlotDe<'a, 'p> {
    path: &'p str,
    index: usize,
    value: Option<&'a ConfigValue>,
}

impl SlotDe<'_, '_> {
    fn missing(&self) -> ConfigError {
        ConfigError::at(self.path, format!("value #{} is missing", self.index + 1))
    }
}

macro_rules! slot_forward {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                match self.value {
                    Some(value) => ValueDe { path: self.path, key: "", value }.$method(visitor),
                    None => Err(self.missing()),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for SlotDe<'de, '_> {
    type Error = ConfigError;

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Some(_) => visitor.visit_some(self),
            None => visitor.visit_none(),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.value {
            Some(value) => ValueDe {
                path: self.path,
                key: "",
                value,
            }
            .deserialize_enum(name, variants, visitor),
            None => Err(self.missing()),
        }
    }

    slot_forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64
        deserialize_char deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_map deserialize_identifier deserialize_ignored_any deserialize_seq
    }

    serde::forward_to_deserialize_any! {
        i128 u128 unit_struct newtype_struct tuple tuple_struct struct
    }
}

/// A single value.
struct ValueDe<'a, 'p> {
    path: &'p str,
    key: &'p str,
    value: &'a ConfigValue,
}

impl ValueDe<'_, '_> {
    fn wrong(&self, want: &str) -> ConfigError {
        let msg = if self.key.is_empty() {
            format!("expected {want}, got {}", self.value.describe())
        } else {
            format!(
                "option \"{}\" expects {want}, got {}",
                self.key,
                self.value.describe()
            )
        };
        ConfigError::at(self.path, msg)
    }

    fn integer<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value> {
        match self.value {
            ConfigValue::Number(n)
                if n.fract() == 0.0 && *n >= 0.0 && *n < 1.8446744073709552e19 =>
            {
                visitor.visit_u64(*n as u64)
            }
            ConfigValue::Number(n)
                if n.fract() == 0.0 && *n < 0.0 && *n >= -9.223372036854776e18 =>
            {
                visitor.visit_i64(*n as i64)
            }
            ConfigValue::String(s) => {
                let t = s.trim();
                if let Ok(u) = t.parse::<u64>() {
                    visitor.visit_u64(u)
                } else if let Ok(i) = t.parse::<i64>() {
                    visitor.visit_i64(i)
                } else {
                    Err(self.wrong("an integer"))
                }
            }
            _ => Err(self.wrong("an integer")),
        }
        .map_err(|e| self.fix_range(e))
    }

    /// serde's range errors ("invalid value: integer `300`, expected u8")
    /// get the option name.
    fn fix_range(&self, e: ConfigError) -> ConfigError {
        if e.path.is_none() && !self.key.is_empty() {
            ConfigError::at(self.path, format!("option \"{}\": {}", self.key, e.message))
        } else {
            e.located(|| self.path.to_owned())
        }
    }
}

macro_rules! integer_methods {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.integer(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ValueDe<'de, '_> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            ConfigValue::String(s) => visitor.visit_borrowed_str(s),
            ConfigValue::Boolean(b) => visitor.visit_bool(*b),
            ConfigValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                if *n < 0.0 {
                    visitor.visit_i64(*n as i64)
                } else {
                    visitor.visit_u64(*n as u64)
                }
            }
            ConfigValue::Number(n) => visitor.visit_f64(*n),
        }
        .map_err(|e| self.fix_range(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            ConfigValue::Boolean(b) => visitor.visit_bool(*b),
            ConfigValue::String(s) => match parse_bool(s) {
                Some(b) => visitor.visit_bool(b),
                None => Err(self.wrong("a boolean")),
            },
            ConfigValue::Number(_) => Err(self.wrong("a boolean")),
        }
    }

    integer_methods! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            ConfigValue::Number(n) => visitor.visit_f64(*n),
            ConfigValue::String(s) => match s.trim().parse::<f64>() {
                Ok(n) => visitor.visit_f64(n),
                Err(_) => Err(self.wrong("a number")),
            },
            ConfigValue::Boolean(_) => Err(self.wrong("a number")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            ConfigValue::String(s) => visitor.visit_borrowed_str(s),
            // Unquoted numbers and booleans are accepted where a string is
            // expected (`Port 25826`), spelled as written.
            ConfigValue::Number(n) => visitor.visit_string(format_number(*n)),
            ConfigValue::Boolean(b) => visitor.visit_str(if *b { "true" } else { "false" }),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            ConfigValue::String(s) if s.chars().count() == 1 => {
                visitor.visit_char(s.chars().next().unwrap_or('\0'))
            }
            _ => Err(self.wrong("a single character")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Seq {
            iter: std::iter::once(self),
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let ConfigValue::String(s) = self.value else {
            return Err(self.wrong(&format!("one of {}", variants.join(", "))));
        };
        match variants.iter().find(|v| key_eq(v, s)) {
            Some(v) => visitor.visit_enum(de::value::StrDeserializer::<ConfigError>::new(v)),
            None => Err(self.wrong(&format!("one of {}", variants.join(", ")))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(self.wrong("a block"))
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self.wrong("a block"))
    }

    serde::forward_to_deserialize_any! {
        i128 u128 unit unit_struct tuple tuple_struct ignored_any
    }
}

/// Numbers as collectd's config parser read them: integers without ".0".
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }
    fn n(v: f64) -> ConfigValue {
        ConfigValue::Number(v)
    }
    fn b(v: bool) -> ConfigValue {
        ConfigValue::Boolean(v)
    }
    fn item(key: &str, values: Vec<ConfigValue>) -> ConfigItem {
        ConfigItem::new(key, values)
    }
    fn cfg(items: Vec<ConfigItem>) -> Config {
        Config {
            plugin: "test".into(),
            items,
        }
    }

    #[derive(Debug, Deserialize, Default, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Cpu {
        #[serde(rename = "ReportByCpu")]
        by_cpu: bool,
        values_percentage: bool,
        disk: Vec<String>,
        ignore_selected: Option<bool>,
        interval: f64,
        count: u8,
    }

    #[test]
    fn simple_options() {
        let c: Cpu = cfg(vec![
            item("ReportByCPU", vec![b(true)]),
            item("ValuesPercentage", vec![s("yes")]),
            item("Disk", vec![s("/^sd/")]),
            item("Disk", vec![s("hda")]),
            item("IgnoreSelected", vec![b(false)]),
            item("Interval", vec![n(2.5)]),
            item("Count", vec![n(7.0)]),
        ])
        .deserialize()
        .unwrap();
        assert_eq!(
            c,
            Cpu {
                by_cpu: true,
                values_percentage: true,
                disk: vec!["/^sd/".into(), "hda".into()],
                ignore_selected: Some(false),
                interval: 2.5,
                count: 7,
            }
        );
        let empty: Cpu = cfg(vec![]).deserialize().unwrap();
        assert_eq!(empty, Cpu::default());
    }

    #[test]
    fn last_occurrence_wins_for_scalars() {
        let c: Cpu = cfg(vec![
            item("Interval", vec![n(1.0)]),
            item("interval", vec![n(3.0)]),
        ])
        .deserialize()
        .unwrap();
        assert_eq!(c.interval, 3.0);
    }

    fn err<T: de::DeserializeOwned + std::fmt::Debug>(items: Vec<ConfigItem>) -> String {
        cfg(items).deserialize::<T>().unwrap_err().to_string()
    }

    #[test]
    fn bad_values_name_the_option() {
        assert_eq!(
            err::<Cpu>(vec![item("ReportByCpu", vec![s("maybe")])]),
            "<Plugin test> / ReportByCpu \"maybe\": option \"ReportByCpu\" expects a boolean, got the string \"maybe\""
        );
        assert_eq!(
            err::<Cpu>(vec![item("Count", vec![n(300.0)])]),
            "<Plugin test> / Count 300: option \"Count\": invalid value: integer `300`, expected u8"
        );
        assert_eq!(
            err::<Cpu>(vec![item("Count", vec![n(1.5)])]),
            "<Plugin test> / Count 1.5: option \"Count\" expects an integer, got the number 1.5"
        );
        assert_eq!(
            err::<Cpu>(vec![item("Interval", vec![n(1.0), n(2.0)])]),
            "<Plugin test> / Interval 1 2: option \"Interval\" expects a number, got 2 values"
        );
        assert_eq!(
            err::<Cpu>(vec![item("Bogus", vec![b(true)])]),
            "<Plugin test> / Bogus true: unknown field `Bogus`, expected one of `ReportByCpu`, \
             `values_percentage`, `disk`, `ignore_selected`, `interval`, `count`"
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Required {
        value: f64,
    }

    #[test]
    fn missing_field_names_the_block() {
        assert_eq!(
            err::<Required>(vec![]),
            "<Plugin test>: missing field `Value`"
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    enum Level {
        None,
        Sign,
        Encrypt,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Server {
        #[serde(rename = "$values")]
        address: (String, Option<String>),
        #[serde(default)]
        security_level: Option<Level>,
        #[serde(default)]
        username: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Network {
        #[serde(default)]
        server: Vec<Server>,
        #[serde(default, rename = "TimeToLive")]
        ttl: Option<u8>,
        #[serde(default)]
        listen: Vec<(String, u16)>,
    }

    #[test]
    fn nested_blocks_with_values() {
        let c: Network = cfg(vec![
            ConfigItem::block(
                "Server",
                vec![s("239.192.74.66"), s("25826")],
                vec![
                    item("SecurityLevel", vec![s("sign")]),
                    item("Username", vec![s("u")]),
                ],
            ),
            ConfigItem::block("Server", vec![s("::1")], vec![]),
            item("TimeToLive", vec![n(128.0)]),
            item("Listen", vec![s("0.0.0.0"), n(25826.0)]),
        ])
        .deserialize()
        .unwrap();
        assert_eq!(
            c,
            Network {
                server: vec![
                    Server {
                        address: ("239.192.74.66".into(), Some("25826".into())),
                        security_level: Some(Level::Sign),
                        username: Some("u".into()),
                    },
                    Server {
                        address: ("::1".into(), None),
                        security_level: None,
                        username: None
                    },
                ],
                ttl: Some(128),
                listen: vec![("0.0.0.0".into(), 25826)],
            }
        );
    }

    #[test]
    fn nested_errors_carry_the_full_path() {
        let e = err::<Network>(vec![ConfigItem::block(
            "Server",
            vec![s("h"), s("1")],
            vec![item("SecurityLevel", vec![s("Paranoid")])],
        )]);
        assert_eq!(
            e,
            "<Plugin test> / <Server \"h\" \"1\"> / SecurityLevel \"Paranoid\": option \"SecurityLevel\" \
             expects one of None, Sign, Encrypt, got the string \"Paranoid\""
        );
        let e = err::<Network>(vec![ConfigItem::block(
            "Server",
            vec![s("h"), s("1"), s("x")],
            vec![item("Username", vec![s("u")])],
        )]);
        assert_eq!(
            e,
            "<Plugin test> / <Server \"h\" \"1\" \"x\">: too many values: got 3, expected at most 2"
        );
    }

    #[test]
    fn block_without_values_field_rejects_values() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            a: Option<u32>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            inner: Inner,
        }
        let e = err::<Outer>(vec![ConfigItem::block(
            "Inner",
            vec![s("v")],
            vec![item("A", vec![n(1.0)])],
        )]);
        assert_eq!(
            e,
            "<Plugin test> / <Inner \"v\">: this block takes no values, got the string \"v\" \
             (add a \"$values\" field to accept them)"
        );
    }

    #[test]
    fn maps_and_untyped() {
        let m: BTreeMap<String, String> =
            cfg(vec![item("A", vec![s("x")]), item("B", vec![n(2.0)])])
                .deserialize()
                .unwrap();
        assert_eq!(m.get("A").map(String::as_str), Some("x"));
        assert_eq!(m.get("B").map(String::as_str), Some("2"));
    }

    #[test]
    fn numbers_from_strings_and_strings_from_numbers() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct T {
            port: u16,
            name: String,
            ratio: f32,
        }
        let t: T = cfg(vec![
            item("Port", vec![s("8080")]),
            item("Name", vec![n(5.0)]),
            item("Ratio", vec![s("0.5")]),
        ])
        .deserialize()
        .unwrap();
        assert_eq!(
            t,
            T {
                port: 8080,
                name: "5".into(),
                ratio: 0.5
            }
        );
    }
}
