//! The model file: a magic header and version, the feature shape, the intents in column order,
//! the blend weight, the biases and the quantised weights, then a SHA-256 of everything before
//! it. All numbers little-endian. A file that is not a model, of another version, cut short,
//! altered or naming an unknown intent is refused saying which.

use sha2::{Digest, Sha256};

use super::{FeatureSpec, IntentModel};
use crate::domain::routing::intent::Intent;

const MAGIC: &[u8; 8] = b"CBINTENT";
pub const VERSION: u16 = 1;
const CHECKSUM_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("not a casebot intent model (the file does not start with the model header)")]
    NotAModel,
    #[error("model file version {found} is not supported (this casebot reads version {VERSION})")]
    Version { found: u16 },
    #[error("model file is cut short: {0} is missing")]
    Truncated(&'static str),
    #[error("model file is damaged: its checksum does not match its contents")]
    Checksum,
    #[error("model file names an unknown intent {0:?}")]
    UnknownIntent(String),
    #[error("model file is malformed: {0}")]
    Malformed(String),
}

impl IntentModel {
    /// The model as file bytes. The same model always gives the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.weights.len() + 256);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&[
            self.spec.bits,
            self.spec.char_min,
            self.spec.char_max,
            self.classes.len() as u8,
        ]);
        out.extend_from_slice(&self.cue_weight.to_le_bytes());
        out.extend_from_slice(&self.scale.to_le_bytes());
        for class in &self.classes {
            let name = class.as_str().as_bytes();
            out.push(name.len() as u8);
            out.extend_from_slice(name);
        }
        for b in &self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        out.extend(self.weights.iter().map(|&w| w as u8));
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Reads a model file, checking everything before trusting any of it.
    pub fn from_bytes(bytes: &[u8]) -> Result<IntentModel, ModelError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        let mut r = Reader {
            bytes: &bytes[MAGIC.len()..],
        };
        let found = u16::from_le_bytes(r.take(2, "the version")?.try_into().expect("2 bytes"));
        if found != VERSION {
            return Err(ModelError::Version { found });
        }
        if bytes.len() < MAGIC.len() + 2 + CHECKSUM_LEN {
            return Err(ModelError::Truncated("the checksum"));
        }
        let (body, digest) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if Sha256::digest(body).as_slice() != digest {
            return Err(ModelError::Checksum);
        }
        r.bytes = &body[MAGIC.len() + 2..];
        let model = read_body(&mut r)?;
        if !r.bytes.is_empty() {
            return Err(ModelError::Malformed(format!(
                "{} unexpected bytes after the weights",
                r.bytes.len()
            )));
        }
        Ok(model)
    }
}

fn read_body(r: &mut Reader) -> Result<IntentModel, ModelError> {
    let shape = r.take(4, "the feature shape")?;
    let spec = FeatureSpec {
        bits: shape[0],
        char_min: shape[1],
        char_max: shape[2],
    };
    let k = usize::from(shape[3]);
    if !(8..=24).contains(&spec.bits) || spec.char_min == 0 || spec.char_min > spec.char_max {
        return Err(ModelError::Malformed(format!(
            "feature shape {spec:?} is out of range"
        )));
    }
    if !(2..=Intent::BY_PRECEDENCE.len()).contains(&k) {
        return Err(ModelError::Malformed(format!("{k} intents")));
    }
    let cue_weight = r.f32("the blend weight")?;
    let scale = r.f32("the weight scale")?;
    if !(cue_weight.is_finite() && scale.is_finite() && scale > 0.0) {
        return Err(ModelError::Malformed("blend weight or scale".into()));
    }
    let mut classes = Vec::with_capacity(k);
    for _ in 0..k {
        let len = usize::from(r.take(1, "an intent name")?[0]);
        let name = String::from_utf8_lossy(r.take(len, "an intent name")?).into_owned();
        let intent: Intent = name.parse().map_err(|_| ModelError::UnknownIntent(name))?;
        if classes.contains(&intent) {
            return Err(ModelError::Malformed(format!("intent {intent} twice")));
        }
        classes.push(intent);
    }
    let bias = (0..k)
        .map(|_| r.f32("the biases"))
        .collect::<Result<Vec<_>, _>>()?;
    let n = (1usize << spec.bits) * k;
    let weights = r.take(n, "the weights")?.iter().map(|&b| b as i8).collect();
    Ok(IntentModel {
        spec,
        classes,
        cue_weight,
        scale,
        bias,
        weights,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        if self.bytes.len() < n {
            return Err(ModelError::Truncated(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn f32(&mut self, what: &'static str) -> Result<f32, ModelError> {
        let b = self.take(4, what)?;
        Ok(f32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> IntentModel {
        IntentModel {
            spec: FeatureSpec {
                bits: 8,
                char_min: 3,
                char_max: 4,
            },
            classes: vec![Intent::Refund, Intent::Other],
            cue_weight: 0.5,
            scale: 0.01,
            bias: vec![0.25, -0.25],
            weights: (0..512).map(|i| (i % 255) as i8).collect(),
        }
    }

    #[test]
    fn a_model_round_trips_through_its_file() {
        let model = small();
        assert_eq!(IntentModel::from_bytes(&model.to_bytes()), Ok(model));
    }

    #[test]
    fn a_file_that_is_not_a_model_is_refused() {
        let err = IntentModel::from_bytes(b"text,intent\n").unwrap_err();
        assert_eq!(err, ModelError::NotAModel);
    }

    #[test]
    fn a_flipped_byte_is_caught_by_the_checksum() {
        let mut bytes = small().to_bytes();
        bytes[40] ^= 1;
        assert_eq!(IntentModel::from_bytes(&bytes), Err(ModelError::Checksum));
    }

    #[test]
    fn a_cut_file_is_refused() {
        let bytes = small().to_bytes();
        let err = IntentModel::from_bytes(&bytes[..11]).unwrap_err();
        assert_eq!(err, ModelError::Truncated("the checksum"));
    }

    #[test]
    fn another_version_is_refused_naming_it() {
        let mut bytes = small().to_bytes();
        bytes[8] = 9;
        let err = IntentModel::from_bytes(&bytes).unwrap_err();
        assert_eq!(err, ModelError::Version { found: 9 });
        assert!(err.to_string().contains("version 9"), "{err}");
    }

    #[test]
    fn an_unknown_intent_is_refused_naming_it() {
        let mut model = small();
        model.classes[0] = Intent::Refund;
        let mut bytes = model.to_bytes();
        // Rename "refund" to "rebate" and reseal, so only the name is wrong.
        let at = bytes.windows(6).position(|w| w == b"refund").unwrap();
        bytes[at..at + 6].copy_from_slice(b"rebate");
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        let err = IntentModel::from_bytes(&bytes).unwrap_err();
        assert_eq!(err, ModelError::UnknownIntent("rebate".into()));
    }
}
