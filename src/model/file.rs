//! The lcnet model file: safetensors tensors plus the JSON [`ModelCard`] in the header's metadata.
//! Loading checks the card, then every tensor's presence, dtype, shape and finiteness, and names
//! the first thing that is wrong.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, Metadata, SafeTensorError, TensorView};
use safetensors::SafeTensors;

use super::card::{ModelCard, CARD_KEY};
use super::{expected_tensors, GateSpec, Network};
use crate::error::{Error, Result};

/// Largest model file the CLI reads and the page accepts: 512 MiB (R110 in f32 is under 7 MB).
pub const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// Reads a tensor view as f32 values (f32 or f16 storage), checking finiteness.
fn to_f32(name: &str, view: &TensorView<'_>) -> Result<Tensor> {
    let dtype = match view.dtype() {
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        other => {
            return Err(Error::BadDtype {
                name: name.to_string(),
                dtype: format!("{other:?}"),
            })
        }
    };
    let t = Tensor::from_raw_buffer(view.data(), dtype, view.shape(), &Device::Cpu)?
        .to_dtype(DType::F32)?;
    let finite = match dtype {
        // on the file's bytes: a copy of every tensor costs more than the check in wasm
        DType::F32 => view
            .data()
            .chunks_exact(4)
            .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
        _ => t
            .flatten_all()?
            .to_vec1::<f32>()?
            .iter()
            .all(|v| v.is_finite()),
    };
    if !finite {
        return Err(Error::NotFinite(name.to_string()));
    }
    Ok(t)
}

/// The file's tensors (views into `bytes`) and its `__metadata__`, from one read of the header
/// (which `read_metadata` has checked against the buffer's length and the tensors' offsets).
type Parsed<'a> = (
    HashMap<String, TensorView<'a>>,
    Option<HashMap<String, String>>,
);

fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    let bad = |e: SafeTensorError| Error::NotSafetensors(e.to_string());
    let (n, meta) = SafeTensors::read_metadata(bytes).map_err(bad)?;
    // `read_metadata` checked these bounds; `get` keeps a slip from ever becoming a panic
    let out_of_range = || Error::NotSafetensors("tensor data out of range".into());
    let data = bytes.get(8 + n..).ok_or_else(out_of_range)?;
    let tensors = meta
        .tensors()
        .into_iter()
        .map(|(name, info)| {
            let (start, end) = info.data_offsets;
            let slice = data.get(start..end).ok_or_else(out_of_range)?;
            let view = TensorView::new(info.dtype, info.shape.clone(), slice).map_err(bad)?;
            Ok((name, view))
        })
        .collect::<Result<_>>()?;
    Ok((tensors, meta.metadata().clone()))
}

/// Loads and validates an lcnet model file from its bytes.
pub fn load(bytes: &[u8]) -> Result<Network> {
    let (tensors, meta) = parse(bytes)?;
    let card = card_in(meta.as_ref())?;
    build(card, &tensors)
}

/// The model card of a model file, from its header, validated as [`load`] validates it; the
/// tensors are neither converted nor checked (the header must still describe the whole buffer).
/// For showing another model beside the loaded one (the page's chart), which needs its card only.
pub fn read_card(bytes: &[u8]) -> Result<ModelCard> {
    read_card_head(bytes, bytes.len() as u64)
}

/// Bytes a safetensors file's header may take (safetensors' own limit).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// How many bytes from the start of a model file [`read_card_head`] needs: the 8-byte header
/// length and the header it gives; `None` while `head` is shorter than 8 bytes.
pub fn card_head_len(head: &[u8]) -> Option<u64> {
    let n: [u8; 8] = head.get(..8)?.try_into().ok()?;
    Some(8 + u64::from_le_bytes(n).min(MAX_HEADER_BYTES))
}

/// The model card from the first bytes of a model file (at least [`card_head_len`] of them) and
/// the file's whole length: what the page's chart needs of another model, without fetching its
/// tensors. Checks the header as safetensors does and that its tensors end exactly at
/// `file_len`, and the card; the tensors' values are checked when a model is loaded.
pub fn read_card_head(head: &[u8], file_len: u64) -> Result<ModelCard> {
    let bad = |why: String| Error::NotSafetensors(why);
    let need = card_head_len(head).ok_or_else(|| bad("shorter than 8 bytes".into()))?;
    let n = need - 8;
    if n >= MAX_HEADER_BYTES {
        return Err(bad(format!("header of {n} bytes is too large")));
    }
    let json = usize::try_from(need)
        .ok()
        .and_then(|end| head.get(8..end))
        .ok_or_else(|| bad(format!("header of {n} bytes is cut short")))?;
    // safetensors' own header type: it checks dtypes, shapes and that the tensors' byte ranges
    // follow one another, as loading the whole file does.
    let header: Metadata = serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
    let described = need + header.data_len() as u64;
    if described != file_len {
        return Err(bad(format!(
            "the header describes {described} bytes, the file has {file_len}"
        )));
    }
    card_in(header.metadata().as_ref())
}

fn card_in(meta: Option<&HashMap<String, String>>) -> Result<ModelCard> {
    let text = meta
        .and_then(|m| m.get(CARD_KEY))
        .ok_or(Error::MissingCard)?;
    ModelCard::from_json(text)
}

/// Checks a set of named tensors against the card's architecture and builds the network.
fn build(card: ModelCard, tensors: &HashMap<String, TensorView<'_>>) -> Result<Network> {
    let expected = expected_tensors(&card.arch, card.gates.as_ref());
    let mut raw = Vec::with_capacity(expected.len());
    for (name, shape) in &expected {
        let view = tensors
            .get(name)
            .ok_or_else(|| Error::MissingTensor(name.clone()))?;
        if view.shape() != shape.as_slice() {
            return Err(Error::BadShape {
                name: name.clone(),
                found: view.shape().to_vec(),
                expected: shape.clone(),
            });
        }
        raw.push((name.clone(), to_f32(name, view)?));
    }
    if tensors.len() != expected.len() {
        let mut extra: Vec<&String> = tensors
            .keys()
            .filter(|k| !expected.iter().any(|(n, _)| n == *k))
            .collect();
        extra.sort();
        if let Some(name) = extra.first() {
            let what = match &card.gates {
                None => " without gates",
                Some(_) => " with the card's gates",
            };
            return Err(Error::ExtraTensor((*name).clone(), card.arch.depth, what));
        }
    }
    Network::from_parts(card, raw)
}

/// Wraps a plain PyTorch CIFAR ResNet state dict (safetensors, names as in the reference files)
/// into a network with the given card fields. `num_batches_tracked` entries are dropped; the
/// depth is read off the tensor names; gate tensors, if present, are kept.
pub fn import_state_dict(
    bytes: &[u8],
    name: &str,
    mean: [f32; 3],
    std: [f32; 3],
) -> Result<Network> {
    let (mut tensors, meta) = parse(bytes)?;
    tensors.retain(|k, _| !k.ends_with("num_batches_tracked"));
    let n = (0..=200)
        .take_while(|i| tensors.contains_key(&format!("layer1.{i}.conv1.weight")))
        .count();
    if n == 0 {
        return Err(Error::MissingTensor("layer1.0.conv1.weight".into()));
    }
    let mut card = ModelCard::static_cifar10(name, n, mean, std);
    // The leading dimension of a tensor, if it has one (a scalar in its place is refused by
    // the shape check in `build`).
    let rows = |name: &str| tensors.get(name).and_then(|w| w.shape().first().copied());
    if let Some(c) = rows("conv1.weight") {
        card.arch.widths[0] = c;
    }
    for s in 1..3 {
        if let Some(c) = rows(&format!("layer{}.0.conv1.weight", s + 1)) {
            card.arch.widths[s] = c;
        }
    }
    if let Some(k) = rows("linear.weight") {
        card.arch.num_classes = k;
        // A zero-sized `linear.weight` can claim any number of rows: check the count before
        // naming the classes.
        card.arch.validate()?;
        if card.arch.num_classes != 10 {
            card.classes = (0..card.arch.num_classes)
                .map(|i| format!("class {i}"))
                .collect();
        }
    }
    let l_net = tensors.contains_key("layer1.0.gate_l.weight");
    let c_net = tensors.contains_key("layer1.0.gate_c.weight");
    if l_net || c_net {
        card.gates = Some(GateSpec {
            l_net,
            c_net,
            trained: false,
        });
    }
    card.provenance = serde_json::json!({
        "imported_from": meta.unwrap_or_default(),
    });
    card.validate()?;
    build(card, &tensors)
}

impl Network {
    /// Serialises the network (f32 tensors + card) to model-file bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(self.raw.len());
        for (name, t) in &self.raw {
            let v = t.flatten_all()?.to_vec1::<f32>()?;
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            data.push((name.clone(), t.dims().to_vec(), bytes));
        }
        let views = data
            .iter()
            .map(|(n, s, b)| {
                TensorView::new(Dtype::F32, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| Error::NotSafetensors(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        let meta: HashMap<String, String> = [(CARD_KEY.to_string(), self.card.to_json())].into();
        safetensors::serialize(views, Some(meta)).map_err(|e| Error::NotSafetensors(e.to_string()))
    }

    /// Replaces the card (e.g. to record an evaluation) after checking it still fits the tensors.
    pub fn set_card(&mut self, card: ModelCard) -> Result<()> {
        card.validate()?;
        if card.arch != self.card.arch || card.gates.is_some() != self.card.gates.is_some() {
            return Err(Error::BadCard(
                "the new card describes another architecture".into(),
            ));
        }
        self.card = card;
        Ok(())
    }

    /// A network with deterministic pseudo-random weights (and gates if `gates`), for tests and
    /// fuzzing. Gate biases are spread over [0, 1] so that thresholds skip a mix of blocks and
    /// channels. Behind the `test-helpers` feature, which the project's own tests and fuzz targets
    /// turn on (a dev-dependency of the crate on itself), so it is not part of the library users get.
    #[cfg(feature = "test-helpers")]
    pub fn random(n: usize, gates: bool, seed: u64) -> Result<Network> {
        let mut card = ModelCard::static_cifar10(
            &format!("random-r{}", 6 * n + 2),
            n,
            [0.5, 0.5, 0.5],
            [0.25, 0.25, 0.25],
        );
        if gates {
            card.gates = Some(GateSpec {
                l_net: true,
                c_net: true,
                trained: false,
            });
        }
        card.provenance = serde_json::json!({ "random_seed": seed });
        card.validate()?;
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut raw = Vec::new();
        for (name, shape) in expected_tensors(&card.arch, card.gates.as_ref()) {
            let count: usize = shape.iter().product();
            let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
            let bound = (3.0 / fan_in as f32).sqrt();
            let values: Vec<f32> = (0..count)
                .map(|_| {
                    let u = uniform();
                    if name.ends_with("running_var") {
                        0.5 + u
                    } else if name.ends_with("running_mean") || name.ends_with("bn1.bias") {
                        (u - 0.5) * 0.2
                    } else if name.contains(".bn") || name.starts_with("bn") {
                        if name.ends_with("weight") {
                            0.5 + u
                        } else {
                            (u - 0.5) * 0.2
                        }
                    } else if name.contains(".gate_") && name.ends_with("weight") {
                        (u - 0.5) * 0.4
                    } else if name.contains(".gate_") {
                        u * 1.2 - 0.1
                    } else {
                        (u * 2.0 - 1.0) * bound
                    }
                })
                .collect();
            raw.push((name, Tensor::from_vec(values, shape, &Device::Cpu)?));
        }
        Network::from_parts(card, raw)
    }
}
